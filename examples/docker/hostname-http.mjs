// The example's "service": answers every HTTP request on port 8000 with this container's host name,
// so a client can see which server behind the shared address served it.
import http from 'node:http';
import os from 'node:os';

const port = Number(process.env.HTTP_PORT ?? 8000);
http
  .createServer((_req, res) => res.end(`${os.hostname()}\n`))
  .listen(port, () => console.log(`hostname-http: ${os.hostname()} listening on port ${port}`));
