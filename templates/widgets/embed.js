/* Referral booking widget. On your page:
   <div data-referral-widget="your-business"></div>
   <script async src="{{ origin }}/w/embed.js"></script>
   Optional: data-referral-widget-path="book/" opens a sub page; data-referral-widget-title names the frame.
   No cookies: a referral code from this page's address (?ref=...) is kept in this site's own localStorage. */
(function () {
  "use strict";
  var ORIGIN = "{{ origin|escapejs }}";
  var STORE_PREFIX = "referral-widget:";
  // The longest a kept referral is passed on; the booking itself checks the program's real window (ref_t).
  var KEEP_MS = 90 * 24 * 60 * 60 * 1000;
  var MAX_HEIGHT = 20000;
  var SLUG = /^[A-Za-z0-9_-]{1,100}$/;
  var PATH = /^([A-Za-z0-9_-]+\/)*([A-Za-z0-9_-]+\/?)?$/;

  if (window.ReferralWidget) {
    window.ReferralWidget.scan();
    return;
  }
  var frames = [];

  function fromAddress() {
    var params = new URLSearchParams(window.location.search);
    var ref = (params.get("ref") || "").trim();
    if (!ref || ref.length > 64) return null;
    var token = params.get("ref_t") || "";
    return { ref: ref, ref_t: token.length <= 200 ? token : "" };
  }

  function kept(slug) {
    try {
      var raw = window.localStorage.getItem(STORE_PREFIX + slug);
      if (!raw) return null;
      var value = JSON.parse(raw);
      var age = Date.now() - (value && value.at);
      if (!value || typeof value.ref !== "string" || !(age >= 0 && age <= KEEP_MS)) {
        window.localStorage.removeItem(STORE_PREFIX + slug);
        return null;
      }
      return { ref: value.ref, ref_t: typeof value.ref_t === "string" ? value.ref_t : "" };
    } catch (error) {
      return null; // Storage blocked or full: the widget still works, without the remembered referral.
    }
  }

  function keep(slug, referral) {
    try {
      window.localStorage.setItem(
        STORE_PREFIX + slug,
        JSON.stringify({ ref: referral.ref, ref_t: referral.ref_t, at: Date.now() })
      );
    } catch (error) {
      /* Storage blocked: this visit still passes the referral on. */
    }
  }

  function frameFor(element) {
    var slug = element.getAttribute("data-referral-widget") || "";
    if (!SLUG.test(slug)) {
      if (window.console) console.warn("Referral widget: data-referral-widget needs the business's slug.");
      return;
    }
    var path = (element.getAttribute("data-referral-widget-path") || "").replace(/^\/+/, "");
    if (!PATH.test(path)) path = "";
    // The address wins over what was kept; the same code again without its signed click time keeps the earlier one.
    var stored = kept(slug);
    var referral = fromAddress();
    if (referral && !(stored && stored.ref === referral.ref && !referral.ref_t)) keep(slug, referral);
    else referral = stored || referral;
    var src = ORIGIN + "/w/" + slug + "/" + path;
    if (referral) {
      src += "?ref=" + encodeURIComponent(referral.ref);
      if (referral.ref_t) src += "&ref_t=" + encodeURIComponent(referral.ref_t);
    }
    var iframe = document.createElement("iframe");
    iframe.src = src;
    iframe.title = element.getAttribute("data-referral-widget-title") || "Online booking";
    // The profile's copy button writes the client's link to the clipboard from inside the frame.
    iframe.setAttribute("allow", "clipboard-write");
    iframe.style.cssText = "display:block;width:100%;border:0;height:640px;";
    element.setAttribute("data-referral-widget-ready", "");
    element.textContent = "";
    element.appendChild(iframe);
    frames.push(iframe);
  }

  function scan() {
    var elements = document.querySelectorAll("[data-referral-widget]:not([data-referral-widget-ready])");
    for (var i = 0; i < elements.length; i++) frameFor(elements[i]);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== ORIGIN) return;
    var data = event.data;
    if (!data || data.type !== "referral-widget:height") return;
    var height = Number(data.height);
    if (!isFinite(height) || height <= 0) return;
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === event.source) {
        frames[i].style.height = Math.min(Math.ceil(height), MAX_HEIGHT) + "px";
        return;
      }
    }
  });

  window.ReferralWidget = { scan: scan };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
  else scan();
})();
