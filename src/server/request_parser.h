#pragma once
// Beast's request parser with the bounds Beast itself leaves out. Beast's fields container keeps
// a field's name and value lengths in 16 bits and throws std::length_error for a longer one; in
// a session that exception ended the process. RequestParser refuses such a field (in the head,
// when limits.max_header_bytes allows heads past 64 KiB, or in a chunked body's trailer section)
// with http::error::header_limit and field_too_large() set, so the session answers 431 instead.
// Not thread-safe (one per request, like Beast's parser).
#include <boost/beast/http.hpp>
#include <cstddef>

namespace triage::server {

class RequestParser final
    : public boost::beast::http::request_parser<boost::beast::http::string_body> {
 public:
  // The longest name or value Beast's basic_fields stores (its length + 2 fits a uint16_t).
  static constexpr size_t kMaxFieldPart = 65535 - 2;

  // Whether the parse failed on a field past kMaxFieldPart.
  bool field_too_large() const { return field_too_large_; }

 private:
  void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, boost::beast::error_code& ec) override {
    if (name_string.size() > kMaxFieldPart || value.size() > kMaxFieldPart) {
      field_too_large_ = true;
      ec = boost::beast::http::error::header_limit;
      return;
    }
    get().insert(name, name_string, value);
    ec = {};
  }

  bool field_too_large_ = false;
};

}  // namespace triage::server
