// Till mode: read a member card's QR code with the tablet's camera, where the browser has a BarcodeDetector
// (Chrome on Android, ChromeOS, macOS). Elsewhere the button stays hidden and a USB scanner types into the field.
(function () {
  "use strict";
  var form = document.getElementById("till-lookup");
  var button = document.getElementById("till-camera");
  var video = document.getElementById("till-video");
  if (!form || !button || !("BarcodeDetector" in window) || !navigator.mediaDevices) { return; }
  var input = form.querySelector("input[name=q]");
  button.hidden = false;
  button.addEventListener("click", function () {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream;
      video.hidden = false;
      video.play();
      var stop = function () { stream.getTracks().forEach(function (t) { t.stop(); }); video.hidden = true; };
      var look = function () {
        detector.detect(video).then(function (codes) {
          if (codes.length) {
            stop();
            input.value = codes[0].rawValue;
            form.submit();
          } else {
            window.requestAnimationFrame(look);
          }
        }, function () { window.requestAnimationFrame(look); });
      };
      look();
    }, function () { button.hidden = true; });
  });
})();
