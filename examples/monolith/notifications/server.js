// The first service extracted from the monolith: internal only, reached by web over the rack network.
const http = require('node:http');

const port = Number(process.env.PORT || 4000);
const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  res.writeHead(202, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ queued: true, service: 'notifications' }) + '\n');
});

server.listen(port, () => console.log(`notifications listening on ${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
