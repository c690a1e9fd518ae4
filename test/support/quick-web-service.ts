/**
 * The start of a test app's manifest: a `web` service built from the bundle's root, on port 3000,
 * checked at /health with no grace and every second, so that its rollouts end as soon as a rack
 * can tell. Tests append the service's other keys (indented four spaces) and further sections.
 */
export const QUICK_WEB_SERVICE = `services:
  web:
    build: .
    port: 3000
    health:
      path: /health
      grace: 0
      interval: 1
`;
