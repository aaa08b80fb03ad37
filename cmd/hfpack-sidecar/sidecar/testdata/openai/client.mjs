// Drives hfpack-sidecar with the official openai client and prints what the
// client parsed, as one JSON object. Usage: node client.mjs BASE_URL
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "unused", maxRetries: 0 });
const messages = [{ role: "user", content: "hi" }];
const out = {};

const done = await client.chat.completions.create({ model: "m", messages, pieces: 3 });
out.chat = { object: done.object, content: done.choices[0].message.content, role: done.choices[0].message.role,
  finish: done.choices[0].finish_reason, usage: done.usage };

const stream = await client.chat.completions.create({ model: "m", messages, pieces: 4, stream: true,
  stream_options: { include_usage: true } });
out.stream = { objects: [], pieces: [], finish: null, usage: null };
for await (const chunk of stream) {
  out.stream.objects.push(chunk.object);
  for (const c of chunk.choices) {
    if (c.delta.content) out.stream.pieces.push(c.delta.content);
    if (c.finish_reason) out.stream.finish = c.finish_reason;
  }
  if (chunk.usage) out.stream.usage = chunk.usage;
}

const midError = await client.chat.completions.create({ model: "m", messages, pieces: 5, raise_at: 2, stream: true });
out.midError = { pieces: [], error: null };
try {
  for await (const chunk of midError) {
    for (const c of chunk.choices) if (c.delta.content) out.midError.pieces.push(c.delta.content);
  }
} catch (e) {
  out.midError.error = String(e.message);
}

try {
  await client.chat.completions.create({ model: "m", messages, raise_at: 0, stream: true });
} catch (e) {
  out.earlyError = { status: e.status, message: String(e.message) };
}

const comp = await client.completions.create({ model: "m", prompt: "p", pieces: 2 });
out.completion = { object: comp.object, text: comp.choices[0].text, usage: comp.usage };
const compStream = await client.completions.create({ model: "m", prompt: "q", pieces: 2, stream: true });
out.completionStream = [];
for await (const chunk of compStream) out.completionStream.push(chunk.choices[0]?.text ?? "");

process.stdout.write(JSON.stringify(out));
