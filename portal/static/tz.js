// Fills the hidden "tz" fields of the portal's forms with the browser's
// time zone (an IANA name such as America/Chicago), so the message page
// can show times in the patient's own zone. Nothing else is read or sent.
(function () {
  var tz = "";
  try {
    tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) {
    return;
  }
  var fields = document.querySelectorAll("input[name=tz]");
  for (var i = 0; i < fields.length; i++) {
    fields[i].value = tz;
  }
})();
