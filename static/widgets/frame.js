/* Inside the embed script's iframe: tell the host page how tall this page is, whenever that changes.
   Only a height is sent, so any parent may read it ("*"); the embed script checks that it comes from us. */
(function () {
  "use strict";
  if (window.parent === window) return;
  var last = -1;
  function post() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ type: "referral-widget:height", height: height }, "*");
  }
  if ("ResizeObserver" in window) {
    new ResizeObserver(post).observe(document.body);
  }
  window.addEventListener("load", post);
  post();
})();
