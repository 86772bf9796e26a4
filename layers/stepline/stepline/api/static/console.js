// Stepline's console script, and its only one: it follows a running action's log. The page
// holds <pre id="tail" data-tail="URL" data-offset="N">; every second the script asks the
// server for what was appended after N and adds it as text, keeping the view at the end when
// it was there. When the action ends the page reloads, to show the log as phases.
(function () {
  "use strict";
  var tail = document.getElementById("tail");
  var live = document.getElementById("live");
  if (!tail) return;
  var offset = Number(tail.getAttribute("data-offset")) || 0;

  function atEnd() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
  }

  function poll() {
    var url = tail.getAttribute("data-tail") + "?offset=" + offset;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) {
        if (!answer.ok) throw new Error("the server answered " + answer.status);
        return answer.json();
      })
      .then(function (got) {
        var follow = atEnd();
        if (got.text) tail.appendChild(document.createTextNode(got.text));
        offset = got.offset;
        if (follow) window.scrollTo(0, document.body.scrollHeight);
        if (got.running) {
          window.setTimeout(poll, 1000);
        } else {
          live.textContent = "The action has ended.";
          window.location.reload();
        }
      })
      .catch(function (error) {
        live.textContent = "Stopped following the log (" + error.message + "); reload the page to follow it again.";
      });
  }

  window.setTimeout(poll, 1000);
})();
