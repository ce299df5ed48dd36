# Sourced by run.sh and syscalls.sh (from the repository root, after bench/lib.sh's
# bench_triage_bin and bench_workdir): starts the nginx fake upstream (a fixed chat.completion,
# the same answer as an OpenAI stream and as an Anthropic stream), a plain nginx reverse proxy in
# front of it, and triage with the ledger in $work/ledger.db ($LEDGER_QUERY appended;
# server.threads from $THREADS when set), and writes the wrk scripts
# ($work/{post,stream,messages,amessages,astream}.lua). Sets FAKE, PROXY, TRIAGE, PORTKEY (ports)
# and TPID; the processes are in pids, stopped on exit.
LEDGER_QUERY=${LEDGER_QUERY:-}
THREADS=${THREADS:-}
base=$((20000 + RANDOM % 20000))  # four consecutive loopback ports
FAKE=$base; PROXY=$((base + 1)); TRIAGE=$((base + 2)); PORTKEY=$((base + 3))
body='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gemma-4-31b","choices":[{"index":0,"message":{"role":"assistant","content":"Hamlet, prince of Denmark, feigns madness to avenge the murder of his father by his uncle Claudius; the revenge costs almost everyone their lives, Hamlet included."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":31,"completion_tokens":38,"total_tokens":69}}'
# The same answer as a stream: a role chunk, nine content chunks, the finish chunk, the usage
# chunk (what vLLM sends with stream_options.include_usage) and [DONE].
sse=""
event() { sse+="data: $1"$'\n\n'; }
head='"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gemma-4-31b"'
event "{$head,\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}"
for w in "Hamlet, prince of" "Denmark, feigns madness" "to avenge the" "murder of his" \
         "father by his" "uncle Claudius; the" "revenge costs almost" "everyone their lives," \
         "Hamlet included."; do
  event "{$head,\"choices\":[{\"index\":0,\"delta\":{\"content\":\" $w\"},\"finish_reason\":null}]}"
done
event "{$head,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"
event "{$head,\"choices\":[],\"usage\":{\"prompt_tokens\":31,\"completion_tokens\":38,\"total_tokens\":69}}"
event "[DONE]"
# The same answer from an Anthropic upstream (a Messages API stream: message_start, the text
# block with nine deltas, message_delta with the usage, message_stop), for OpenAI clients:
# triage translates every event into an OpenAI chunk.
asse=""
aevent() { asse+="event: $1"$'\n'"data: {\"type\":\"$1\"$2}"$'\n\n'; }
aevent message_start ',"message":{"id":"msg_bench","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-6","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":31,"output_tokens":1}}'
aevent content_block_start ',"index":0,"content_block":{"type":"text","text":""}'
aevent ping ''
for w in "Hamlet, prince of" "Denmark, feigns madness" "to avenge the" "murder of his" \
         "father by his" "uncle Claudius; the" "revenge costs almost" "everyone their lives," \
         "Hamlet included."; do
  aevent content_block_delta ",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" $w\"}"
done
aevent content_block_stop ',"index":0'
aevent message_delta ',"delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":38}'
aevent message_stop ''
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $work/nginx/error.log warn;
pid $work/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  keepalive_requests 1000000;
  upstream fake { server 127.0.0.1:$FAKE; keepalive 64; }
  server {
    listen 127.0.0.1:$FAKE;
    location /v1/chat/completions { default_type application/json; return 200 '$body'; }
    location /stream/v1/chat/completions { default_type text/event-stream; return 200 '$sse'; }
    location /anthropic/v1/messages { default_type text/event-stream; return 200 '$asse'; }
  }
  server {
    listen 127.0.0.1:$PROXY;
    location / {
      proxy_pass http://fake;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
pids+=($!)

server_yaml=""; [[ -n $THREADS ]] && server_yaml="server: {threads: $THREADS}"
cat > "$work/triage.yaml" <<CONF
log_level: warn
storage: {ledger: "sqlite://$work/ledger.db$LEDGER_QUERY"}
$server_yaml
tiers:
  - name: open
    deployments:
      - {name: fake, provider: openai, base_url: "http://127.0.0.1:$FAKE/v1", catalog: gemma-4-31b}
  - name: stream
    deployments:
      - {name: fake-stream, provider: openai, base_url: "http://127.0.0.1:$FAKE/stream/v1", catalog: gemma-4-31b}
  - name: astream
    deployments:
      - {name: fake-anthropic, provider: anthropic, base_url: "http://127.0.0.1:$FAKE/anthropic/v1", catalog: claude-sonnet-4.6}
CONF
"$TRIAGE_BIN" serve --config "$work/triage.yaml" --listen "127.0.0.1:$TRIAGE" > "$work/triage.out" 2>&1 &
TPID=$!
pids+=($TPID)
for _ in $(seq 50); do grep -q listening "$work/triage.out" && break; sleep 0.1; done
sleep 0.5
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"auto","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Summarise the plot of Hamlet in two sentences."}],"temperature":0.2,"max_tokens":200}'
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d rps=%.1f p50=%d p99=%d\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99)))
end
LUA

# Streaming requests: pinned to the stream tier, stream_options.include_usage as SDKs send it.
sed -e 's/"model":"auto"/"model":"stream","stream":true,"stream_options":{"include_usage":true}/' \
  "$work/post.lua" > "$work/stream.lua"
# The same streamed answer asked for by an Anthropic client (/v1/messages, as the Anthropic SDK
# sends it): triage translates every OpenAI chunk of the upstream into Anthropic events.
sed -e 's|^wrk.body = .*|wrk.body = '"'"'{"model":"stream","max_tokens":200,"stream":true,"system":"You are a helpful assistant.","messages":[{"role":"user","content":"Summarise the plot of Hamlet in two sentences."}],"temperature":0.2}'"'"'|' \
  -e 's|^wrk.headers\["Content-Type"\] = "application/json"|&\nwrk.headers["anthropic-version"] = "2023-06-01"|' \
  "$work/post.lua" > "$work/messages.lua"
# The same question from an Anthropic client without streaming: the OpenAI answer translated
# into an Anthropic message.
sed -e 's/"model":"stream"/"model":"open"/' -e 's/"stream":true,//' "$work/messages.lua" > "$work/amessages.lua"
# An OpenAI client streaming from the Anthropic upstream: every event translated into a chunk.
sed -e 's/"model":"stream"/"model":"astream"/' "$work/stream.lua" > "$work/astream.lua"
