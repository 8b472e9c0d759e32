// A page the server was too busy for (templates/error.html, 503) loads again by itself after
// the wait it named, spread over up to twice that so that a room does not come back at once.
const busy = document.querySelector("[data-retry-after]");
if (busy) {
  const seconds = Number(busy.dataset.retryAfter) * (1 + Math.random());
  setTimeout(() => window.location.reload(), seconds * 1000);
}
