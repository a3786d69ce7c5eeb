// stopscope's page script. Kept in a file of its own: the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
})();
