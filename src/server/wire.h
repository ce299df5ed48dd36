#pragma once
// A whole HTTP/1.x response (status line, header fields, body) in one buffer, so that a
// non-streaming answer goes out in a single write. Byte for byte what Beast's serializer writes
// for the same http::response<string_body> after set(Server), set(each header),
// keep_alive(keep_alive) and prepare_payload() (tests/server/wire_test.cc checks that).
// Pure; thread-safe.
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/client_writer.h"

namespace triage::server {

// version: 11 for HTTP/1.1, 10 for HTTP/1.0. Headers are applied like Beast's `set`
// (upstream::SetField): a later field replaces an earlier one of the same name (ASCII case
// ignored, "Server" included) and moves to its place.
// REQUIRES: status in 200..999 and not 204/304 (they carry no body); no Connection,
// Content-Length or Transfer-Encoding among headers (this function writes those); header names
// and values free of CR and LF.
std::string SerializeResponse(int status, unsigned version, bool keep_alive,
                              const pipeline::Headers& headers, std::string_view body);

// The answer to a HEAD request: SerializeResponse's bytes for the same response without the body
// (Content-Length still states the body's length, as RFC 9110 9.3.2 allows). Same REQUIRES.
std::string SerializeHeadResponse(int status, unsigned version, bool keep_alive,
                                  const pipeline::Headers& headers, std::string_view body);

// A 204 No Content (a CORS preflight's answer): status line, Server, each header, the
// Connection field keep_alive calls for; no Content-Length, no body (RFC 9110 8.6). Same
// REQUIRES as SerializeResponse but the status.
std::string SerializeNoContent(unsigned version, bool keep_alive, const pipeline::Headers& headers);

// The head of a chunked 200 response (an SSE stream): as Beast writes it for a response with
// set(Server), set(each header), set(Trailer, the names joined by ", ") when there are any,
// keep_alive(keep_alive) and chunked(true). Same REQUIRES as SerializeResponse.
std::string SerializeStreamHead(unsigned version, bool keep_alive, const pipeline::Headers& headers,
                                const std::vector<std::string>& trailer_names);

// The head of a close-delimited 200 response: an SSE stream to an HTTP/1.0 client, which must
// not get the chunked coding (RFC 9112 6.1), so the body ends when the server closes the
// connection (RFC 9112 6.3). Server, each header, then "Connection: close"; no Content-Length,
// Transfer-Encoding or Trailer. Same REQUIRES as SerializeResponse.
std::string SerializeCloseDelimitedHead(unsigned version, const pipeline::Headers& headers);

// One chunk of a chunked body ("<hex size>\r\n<data>\r\n", as http::make_chunk).
// REQUIRES: data not empty (an empty chunk would end the body).
void AppendChunk(std::string& out, std::string_view data);

// The last chunk with its trailer fields (as http::make_chunk_last(fields)).
void AppendLastChunk(std::string& out, const pipeline::Headers& trailers);

}  // namespace triage::server
