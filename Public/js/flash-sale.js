// Counts down each session from the seconds the server gave, and reloads the page when one
// starts or ends so the states and buttons come from the server again.
(function () {
  var clocks = Array.prototype.slice.call(document.querySelectorAll('[data-seconds]'));
  if (!clocks.length) return;
  var started = Date.now();
  function text(left) {
    var h = Math.floor(left / 3600), m = Math.floor(left % 3600 / 60), s = left % 60;
    return (h < 10 ? '0' : '') + h + ':' + (m < 10 ? '0' : '') + m + ':' + (s < 10 ? '0' : '') + s;
  }
  function tick() {
    var passed = Math.floor((Date.now() - started) / 1000);
    var due = false;
    clocks.forEach(function (clock) {
      var left = Math.max(0, parseInt(clock.dataset.seconds, 10) - passed);
      clock.textContent = text(left);
      if (left === 0) due = true;
    });
    if (due) { window.location.reload(); return; }
    window.setTimeout(tick, 1000);
  }
  tick();
})();
