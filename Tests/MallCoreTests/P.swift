import Testing
@testable import MallCore
import PropertyBased
@Test func t() {}
