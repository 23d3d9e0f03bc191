// The client profile: copy the referral link (Clipboard API, else select the text), and a notice when framed.
(function () {
  "use strict";

  // Inside another site's frame the profile's session cookie would be third-party: ask for a tab of its own.
  if (window.top !== window.self) {
    var notice = document.querySelector("[data-frame-notice]");
    var content = document.querySelector("[data-profile-content]");
    if (notice) { notice.hidden = false; }
    if (content) { content.hidden = true; }
  }

  function selectText(input) {
    input.focus();
    input.select();
    input.setSelectionRange(0, input.value.length);
  }

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copy-status"));
    if (!input || !status) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var say = function (text) { status.textContent = ""; window.setTimeout(function () { status.textContent = text; }, 50); };
      var fallback = function () {
        selectText(input);
        var copied = false;
        try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
        say(copied ? status.getAttribute("data-copied-text") : status.getAttribute("data-select-text"));
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(function () {
          say(status.getAttribute("data-copied-text"));
        }, fallback);
      } else {
        fallback();
      }
    });
  });

  // After a refused invitation the page reloads at the top: bring the form and its message into view.
  var invalid = document.querySelector("[data-invite-errors]");
  if (invalid) {
    invalid.scrollIntoView({ block: "center" });
    if (invalid.tagName === "INPUT") { invalid.focus(); }
  }
})();
