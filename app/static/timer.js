// Progressive enhancement: a live countdown for exam pages. Without JavaScript the server-rendered
// time stays correct at each page load, and the server enforces the deadline either way.
(function () {
  var timer = document.querySelector("[data-seconds-left]");
  if (!timer) { return; }
  var output = timer.querySelector("strong");
  var endsAt = Date.now() + Number(timer.getAttribute("data-seconds-left")) * 1000;
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    var left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
    output.textContent = Math.floor(left / 60) + " min " + pad(left % 60) + " s";
    if (left === 0) { window.location.reload(); return; }
    window.setTimeout(tick, 1000);
  }
  tick();
})();
