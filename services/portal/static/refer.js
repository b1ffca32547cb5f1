// Refer form: the supervisor's override is offered only when the risk is severe. Without
// this file the override stays visible (with its note), and the server checks the rule.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("override");
    if (!box) { return; }
    var risks = document.querySelectorAll("input[name=risk_level]");
    function update() {
      var chosen = document.querySelector("input[name=risk_level]:checked");
      var checked = box.querySelector("input[name='override.use']:checked");
      box.hidden = !(checked || (chosen && chosen.value === "severe"));
    }
    for (var i = 0; i < risks.length; i++) { risks[i].addEventListener("change", update); }
    update();
  });
})();
