// Shows the price and stock of the SKU that the chosen spec values name.
(function () {
  var groups = Array.prototype.slice.call(document.querySelectorAll('fieldset.spec'));
  var rows = Array.prototype.slice.call(document.querySelectorAll('#sku-table li'));
  var chosen = {};
  function update() {
    var key = groups.map(function (g) { return g.dataset.spec + ':' + (chosen[g.dataset.spec] || ''); }).join(';');
    var row = rows.filter(function (r) { return r.dataset.key === key; })[0];
    if (!row) return;
    var sku = document.getElementById('buy-sku');
    if (sku) sku.value = row.dataset.id;
    document.getElementById('sku-price').textContent = row.dataset.price;
    document.getElementById('sku-stock').textContent = row.dataset.stock;
    document.getElementById('sku-hint').textContent = row.dataset.code;
    if (row.dataset.image && main) main.src = row.dataset.image;
  }
  // The gallery: a tap on a small picture shows it large.
  var main = document.getElementById('gallery-main');
  document.querySelectorAll('.gallery-thumb').forEach(function (thumb) {
    thumb.addEventListener('click', function () { main.src = thumb.dataset.src; });
  });
  // Without a complete choice the buttons open the picker (a sheet on phones) instead of submitting.
  var form = document.getElementById('buy-form');
  var box = document.querySelector('.buy-box');
  if (form) form.addEventListener('submit', function (event) {
    if (document.getElementById('buy-sku').value) return;
    event.preventDefault();
    if (box) box.classList.add('sheet-open');
    var hint = document.getElementById('sku-hint');
    if (hint) hint.classList.add('alert');
  });
  groups.forEach(function (group) {
    group.addEventListener('click', function (event) {
      var button = event.target.closest('button.spec-value');
      if (!button) return;
      chosen[group.dataset.spec] = button.dataset.value;
      group.querySelectorAll('button').forEach(function (b) { b.classList.toggle('selected', b === button); });
      update();
    });
  });
})();
