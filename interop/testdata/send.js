// Sends messages through sealgate as an application would, with
// Nodemailer: pooled connections, STARTTLS required, AUTH, HTML with a
// text alternative and attachments. Reads a JSON job (argv[2]), prints a
// JSON array of results. Every timeout is bounded.
'use strict';
const fs = require('fs');
const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const nodemailer = require(job.nodemailer);
const transport = nodemailer.createTransport({
  pool: true, maxConnections: 2, maxMessages: 100,
  host: job.host, port: job.port, secure: false, requireTLS: true,
  name: 'app.clinic.test',
  auth: { user: job.user, pass: job.pass },
  tls: { ca: [fs.readFileSync(job.ca)], servername: job.servername },
  connectionTimeout: 10000, greetingTimeout: 10000, socketTimeout: 30000,
});
(async () => {
  const results = await Promise.all(job.messages.map(async (m) => {
    try {
      const info = await transport.sendMail({
        from: m.from, to: m.to, subject: m.subject, messageId: m.messageId,
        text: m.text, html: m.html,
        attachments: m.attachments.map((a) => ({ filename: a.filename, path: a.path, contentType: a.contentType })),
      });
      return { messageId: m.messageId, response: info.response, accepted: info.accepted };
    } catch (e) {
      return { messageId: m.messageId, error: String(e && e.message) };
    }
  }));
  transport.close();
  process.stdout.write(JSON.stringify(results));
})();
