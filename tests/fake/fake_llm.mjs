// A local stand-in for a language-model API, answering in Gemini's generateContent format or an
// OpenAI-compatible chat-completions format with a scripted ranking, so search re-ranking is
// tested without a network. It records each request (path, headers, body) in --record FILE.
//
//   node fake_llm.mjs --port N --answer '["a__x","b__y"]' [--delay MS] [--status CODE] [--record F]
// Prints "listening PORT" once ready.
import fs from 'node:fs';
import http from 'node:http';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const answer = opt('answer', '[]');
const delay = Number(opt('delay', '0'));
const status = Number(opt('status', '200'));
const record = opt('record', null);

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    if (record) fs.appendFileSync(record, `${JSON.stringify({ url: req.url, headers: req.headers, body })}\n`);
    setTimeout(() => {
      if (status !== 200) {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { code: status, message: 'quota exceeded' } }));
        return;
      }
      const out = req.url.includes(':generateContent')
        ? { candidates: [{ content: { role: 'model', parts: [{ text: answer }] } }] }
        : { choices: [{ index: 0, message: { role: 'assistant', content: `Here you go: ${answer}` } }] };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(out));
    }, delay);
  });
});
server.listen(Number(opt('port', '0')), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
