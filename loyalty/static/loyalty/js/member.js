// The member card: a share button for the referral link (Web Share API, else copy to the clipboard).
// The page reads fine without this script; the link stays in its text field for copying by hand.
(function () {
  "use strict";
  var button = document.getElementById("share-button");
  if (!button) { return; }
  var status = document.getElementById("share-status");
  var url = button.dataset.shareUrl;
  if (!navigator.share && !(navigator.clipboard && navigator.clipboard.writeText)) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    if (navigator.share) {
      navigator.share({ title: button.dataset.shareTitle, text: button.dataset.shareText, url: url }).catch(function () {});
      return;
    }
    navigator.clipboard.writeText(url).then(function () { status.textContent = button.dataset.copied; }, function () {
      document.getElementById("referral-link").select();
    });
  });
})();
