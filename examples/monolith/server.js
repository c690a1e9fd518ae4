// The monolith: answers on PORT, reports its health, and says which backing services it was given.
const http = require('node:http');

const port = Number(process.env.PORT || 3000);
const linked = ['MYDB_URL', 'QUEUE_URL', 'NOTIFICATIONS_URL'].filter((k) => process.env[k]);

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ app: process.env.APP || 'monolith', service: 'web', release: process.env.RELEASE || null, linked }) + '\n');
});

server.listen(port, () => console.log(`web listening on ${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
