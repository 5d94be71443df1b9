// Tests of the strict HTTP/1.1 codec: valid messages, exact `consumed` for pipelining, and the
// refusals that keep two parsers from disagreeing on message boundaries (request smuggling).
#include "http/codec.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace bulwark::http {
namespace {

using namespace std::string_literals;

struct ValidCase {
  std::string name;
  std::string input;
  std::string method;
  std::string target;
  std::string body;
};

class CodecValidRequestTest : public ::testing::TestWithParam<ValidCase> {};

TEST_P(CodecValidRequestTest, Parses) {
  const ValidCase& c = GetParam();
  ParseResult<Request> r = ParseRequest(c.input, Limits{});
  ASSERT_EQ(r.state, ParseState::kComplete) << r.error;
  EXPECT_EQ(r.consumed, c.input.size());
  EXPECT_EQ(r.message.method, c.method);
  EXPECT_EQ(r.message.target, c.target);
  EXPECT_EQ(r.message.body, c.body);
}

TEST_P(CodecValidRequestTest, EveryPrefixIsIncomplete) {
  const ValidCase& c = GetParam();
  for (std::size_t n = 0; n < c.input.size(); ++n) {
    ParseResult<Request> r = ParseRequest(std::string_view(c.input).substr(0, n), Limits{});
    ASSERT_EQ(r.state, ParseState::kIncomplete) << "prefix of " << n << " bytes: " << r.error;
  }
}

INSTANTIATE_TEST_SUITE_P(
    CodecValid, CodecValidRequestTest,
    ::testing::Values(
        ValidCase{"Get", "GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\n\r\n", "GET", "/a/b?x=1", ""},
        ValidCase{"Http10NoHost", "GET / HTTP/1.0\r\n\r\n", "GET", "/", ""},
        ValidCase{"PostContentLength",
                  "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", "POST",
                  "/submit", "hello"},
        ValidCase{"Chunked",
                  "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\nA;ext=1\r\n, world!!!\r\n0\r\nX-Trailer: t\r\n\r\n",
                  "POST", "/c", "hello, world!!!"},
        ValidCase{"ChunkedUpperCase",
                  "PUT /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
                  "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
                  "PUT", "/c", "abcdefghijklmnopqrstuvwxyz"},
        ValidCase{"OptionsStar", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", "OPTIONS", "*", ""},
        ValidCase{"BinaryBody", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\na\0b"s,
                  "POST", "/", "a\0b"s}),
    [](const ::testing::TestParamInfo<ValidCase>& info) { return info.param.name; });

TEST(CodecTest, TrimsOwsAndKeepsHeaderOrder) {
  ParseResult<Request> r =
      ParseRequest("GET / HTTP/1.1\r\nHost:  h \t\r\nX-A:\t1\r\nx-a: 2\r\nEmpty:\r\n\r\n", {});
  ASSERT_EQ(r.state, ParseState::kComplete) << r.error;
  ASSERT_EQ(r.message.headers.size(), 4u);
  EXPECT_EQ(r.message.headers.Get("host"), "h");
  EXPECT_EQ(r.message.headers.Get("X-A"), "1");
  EXPECT_EQ(r.message.headers.Count("X-A"), 2u);
  EXPECT_EQ(r.message.headers.Get("empty"), "");
}

TEST(CodecTest, PipelinedRequestsHaveExactConsumed) {
  std::string first = "POST /one HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
  std::string second = "GET /two HTTP/1.1\r\nHost: h\r\n\r\n";
  std::string both = first + second;
  ParseResult<Request> r1 = ParseRequest(both, {});
  ASSERT_EQ(r1.state, ParseState::kComplete) << r1.error;
  EXPECT_EQ(r1.consumed, first.size());
  EXPECT_EQ(r1.message.body, "abc");
  ParseResult<Request> r2 = ParseRequest(std::string_view(both).substr(r1.consumed), {});
  ASSERT_EQ(r2.state, ParseState::kComplete) << r2.error;
  EXPECT_EQ(r2.consumed, second.size());
  EXPECT_EQ(r2.message.target, "/two");
}

TEST(CodecTest, PipelinedAfterChunkedBody) {
  std::string first =
      "POST /one HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  std::string both = first + "GET /two HTTP/1.1\r\nHost: h\r\n\r\n";
  ParseResult<Request> r = ParseRequest(both, {});
  ASSERT_EQ(r.state, ParseState::kComplete) << r.error;
  EXPECT_EQ(r.consumed, first.size());
}

struct ErrorCase {
  std::string name;
  std::string input;
  int status;
};

class CodecRefusedRequestTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(CodecRefusedRequestTest, IsRefused) {
  const ErrorCase& c = GetParam();
  Limits limits;
  limits.max_header_bytes = 256;
  limits.max_headers = 8;
  limits.max_body_bytes = 16;
  ParseResult<Request> r = ParseRequest(c.input, limits);
  ASSERT_EQ(r.state, ParseState::kError) << "consumed " << r.consumed;
  EXPECT_EQ(r.error_status, c.status) << r.error;
  EXPECT_FALSE(r.error.empty());
}

std::string ManyHeaders(int n) {
  std::string s = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < n; ++i) {
    s += "X-" + std::to_string(i) + ": v\r\n";
  }
  return s + "\r\n";
}

INSTANTIATE_TEST_SUITE_P(
    CodecSmuggling, CodecRefusedRequestTest,
    ::testing::Values(
        ErrorCase{"ClAndTe",
                  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: "
                  "chunked\r\n\r\n0\r\n\r\n",
                  400},
        ErrorCase{
            "TwoDifferentCl",
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            400},
        ErrorCase{"TwoIdenticalCl",
                  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
                  400},
        ErrorCase{"ClList", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc", 400},
        ErrorCase{"ClSigned", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc", 400},
        ErrorCase{"ClHex", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x3\r\n\r\nabc", 400},
        ErrorCase{"TeObsFold",
                  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n",
                  400},
        ErrorCase{"ObsFoldTab", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\t2\r\n\r\n", 400},
        ErrorCase{"TeXchunked",
                  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
                  501},
        ErrorCase{"TeGzipChunked",
                  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                  501},
        ErrorCase{"TeTwice",
                  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
                  "chunked\r\n\r\n0\r\n\r\n",
                  400},
        ErrorCase{"TeInHttp10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                  400},
        ErrorCase{"BareLfEverywhere", "GET / HTTP/1.1\nHost: h\n\n", 400},
        ErrorCase{"BareLfInHeaders", "GET / HTTP/1.1\r\nHost: h\nX-A: 1\r\n\r\n", 400},
        ErrorCase{"BareCr", "GET / HTTP/1.1\r\nHost: h\rX-A: 1\r\n\r\n", 400},
        ErrorCase{"SpaceBeforeColon", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 3\r\n\r\nabc",
                  400},
        ErrorCase{"TabBeforeColon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", 400},
        ErrorCase{"NulInValue", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n"s, 400},
        ErrorCase{"NulInTarget", "GET /a\0 HTTP/1.1\r\nHost: h\r\n\r\n"s, 400},
        ErrorCase{"ControlCharInValue", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01z\r\n\r\n", 400},
        ErrorCase{"DelInValue", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x7fz\r\n\r\n", 400},
        ErrorCase{"BadHeaderName", "GET / HTTP/1.1\r\nHost: h\r\nX(A): 1\r\n\r\n", 400},
        ErrorCase{"NoColon", "GET / HTTP/1.1\r\nHost: h\r\nX-A 1\r\n\r\n", 400},
        ErrorCase{"BadMethod", "G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        ErrorCase{"DoubleSpace", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        ErrorCase{"AbsoluteForm", "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        ErrorCase{"StarNotOptions", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        ErrorCase{"BadVersion", "GET / HTTP/1.x\r\nHost: h\r\n\r\n", 400},
        ErrorCase{"Http2Version", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
        ErrorCase{"MissingHost", "GET / HTTP/1.1\r\n\r\n", 400},
        ErrorCase{"TwoHosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        ErrorCase{"BadChunkSize",
                  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
        ErrorCase{
            "ChunkBareLf",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
            400},
        ErrorCase{
            "ChunkDataNoCrlf",
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n",
            400},
        ErrorCase{"ChunkNegative",
                  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", 400},
        ErrorCase{"TooManyHeaders", ManyHeaders(8), 431},
        ErrorCase{"HeadTooLarge",
                  "GET / HTTP/1.1\r\nHost: h\r\nX-A: " + std::string(300, 'a') + "\r\n\r\n", 431},
        ErrorCase{"HeadTooLargeIncomplete", "GET /" + std::string(300, 'a'), 431},
        ErrorCase{"BodyTooLarge", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\n\r\n", 413},
        ErrorCase{"ChunkedBodyTooLarge",
                  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "a\r\n0123456789\r\n7\r\n",
                  413},
        ErrorCase{"HugeChunk",
                  "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "ffffffffffffffffffff\r\n",
                  413}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return info.param.name; });

TEST(CodecTest, KeepAliveFollowsVersionAndConnectionHeader) {
  EXPECT_TRUE(ParseRequest("GET / HTTP/1.1\r\nHost: h\r\n\r\n", {}).keep_alive);
  EXPECT_FALSE(
      ParseRequest("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Close\r\n\r\n", {})
          .keep_alive);
  EXPECT_FALSE(ParseRequest("GET / HTTP/1.0\r\n\r\n", {}).keep_alive);
  EXPECT_FALSE(
      ParseResponse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", {})
          .keep_alive);
}

TEST(CodecTest, ChunkExtensionsCannotInflateTheBuffer) {
  Limits limits;
  limits.max_body_bytes = 1000;
  std::string in = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 40; ++i) {
    in += "1;" + std::string(2000, 'x') + "\r\na\r\n";
  }
  ParseResult<Request> r = ParseRequest(in, limits);
  ASSERT_EQ(r.state, ParseState::kError);
  EXPECT_EQ(r.error_status, 413);
}

TEST(CodecTest, ParsesResponseWithContentLength) {
  std::string in = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX: y\r\n\r\nokEXTRA";
  ParseResult<Response> r = ParseResponse(in, {});
  ASSERT_EQ(r.state, ParseState::kComplete) << r.error;
  EXPECT_EQ(r.message.status, 201);
  EXPECT_EQ(r.message.body, "ok");
  EXPECT_EQ(r.consumed, in.size() - 5);
}

TEST(CodecTest, ResponseWithoutFramingIsDelimitedByEof) {
  std::string in = "HTTP/1.0 200 OK\r\nX: y\r\n\r\nuntil the end";
  EXPECT_EQ(ParseResponse(in, {}, false).state, ParseState::kIncomplete);
  ParseResult<Response> r = ParseResponse(in, {}, true);
  ASSERT_EQ(r.state, ParseState::kComplete) << r.error;
  EXPECT_EQ(r.message.body, "until the end");
  EXPECT_EQ(r.consumed, in.size());
}

TEST(CodecTest, NoBodyStatusesIgnoreFraming) {
  for (const char* line :
       {"HTTP/1.1 204 No Content", "HTTP/1.1 304 Not Modified", "HTTP/1.1 100 Continue"}) {
    std::string in = std::string(line) + "\r\nContent-Length: 10\r\n\r\n";
    ParseResult<Response> r = ParseResponse(in, {});
    ASSERT_EQ(r.state, ParseState::kComplete) << line << ": " << r.error;
    EXPECT_EQ(r.consumed, in.size());
    EXPECT_TRUE(r.message.body.empty());
  }
}

TEST(CodecTest, ParsesChunkedResponseAndEmptyReason) {
  std::string in = "HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
  ParseResult<Response> r = ParseResponse(in, {});
  ASSERT_EQ(r.state, ParseState::kComplete) << r.error;
  EXPECT_EQ(r.message.body, "hi");
  EXPECT_EQ(ParseResponse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", {}).state,
            ParseState::kComplete);
}

TEST(CodecTest, RefusesBadResponses) {
  for (const char* in : {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 999 X\r\n\r\n",
                         "HTTP/1.1 200 OK\nContent-Length: 0\n\n", "HTTP/1.1 200OK\r\n\r\n",
                         "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na",
                         "ICY 200 OK\r\n\r\n"}) {
    EXPECT_EQ(ParseResponse(in, {}, true).state, ParseState::kError) << in;
  }
}

TEST(CodecTest, SerializeResponseSetsContentLengthAndDropsFraming) {
  Response resp;
  resp.status = 404;
  resp.headers.Add("Transfer-Encoding", "chunked");
  resp.headers.Add("Content-Length", "999");
  resp.headers.Add("X-Evil", "a\r\nSet-Cookie: x");
  resp.headers.Add("Content-Type", "text/plain");
  resp.body = "nope";
  EXPECT_EQ(SerializeResponse(resp),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nnope");
  resp.status = 204;
  EXPECT_EQ(SerializeResponse(resp), "HTTP/1.1 204 No Content\r\nContent-Type: text/plain\r\n\r\n");
}

TEST(CodecTest, SerializedRequestRoundTrips) {
  Request req;
  req.method = "POST";
  req.target = "/v1/sign?x=%20y";
  req.headers.Add("Host", "example.org");
  req.headers.Add("Content-Type", "application/json");
  req.body = "{\"a\":1}";
  std::string wire = SerializeRequest(req);
  ParseResult<Request> r = ParseRequest(wire, {});
  ASSERT_EQ(r.state, ParseState::kComplete) << r.error;
  EXPECT_EQ(r.consumed, wire.size());
  EXPECT_EQ(r.message.method, req.method);
  EXPECT_EQ(r.message.target, req.target);
  EXPECT_EQ(r.message.body, req.body);
  EXPECT_EQ(r.message.headers.Get("Content-Length"), "7");
  EXPECT_EQ(r.message.QueryParam("x"), " y");
  EXPECT_EQ(r.message.Path(), "/v1/sign");
}

TEST(CodecTest, QueryParamDecodesAndMisses) {
  Request req;
  req.target = "/p?a=1&b=x%2Fy+z&flag&c=";
  EXPECT_EQ(req.QueryParam("a"), "1");
  EXPECT_EQ(req.QueryParam("b"), "x/y z");
  EXPECT_EQ(req.QueryParam("flag"), "");
  EXPECT_EQ(req.QueryParam("c"), "");
  EXPECT_EQ(req.QueryParam("d"), std::nullopt);
  req.target = "/p";
  EXPECT_EQ(req.QueryParam("a"), std::nullopt);
  EXPECT_EQ(req.Path(), "/p");
}

TEST(CodecTest, HeadersSetAndRemoveAreCaseInsensitive) {
  Headers h;
  h.Add("X-A", "1");
  h.Add("x-a", "2");
  h.Add("Y", "3");
  h.Set("X-a", "4");
  EXPECT_EQ(h.Count("x-A"), 1u);
  EXPECT_EQ(h.Get("X-A"), "4");
  h.Remove("y");
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(ReasonPhrase(799), "Unknown");
}

}  // namespace
}  // namespace bulwark::http

namespace bulwark::http {
namespace {

TEST(CodecTest, AbsoluteFormOnlyWhenAllowed) {
  constexpr std::string_view kRequest = "GET http://b/hello?x=1 HTTP/1.1\r\nHost: b\r\n\r\n";
  Limits limits;
  EXPECT_EQ(ParseRequest(kRequest, limits).state, ParseState::kError);
  limits.allow_absolute_form = true;
  ParseResult<Request> parsed = ParseRequest(kRequest, limits);
  ASSERT_EQ(parsed.state, ParseState::kComplete) << parsed.error;
  EXPECT_EQ(parsed.message.target, "http://b/hello?x=1");
  // Only http://: other schemes and authority-form stay refused.
  EXPECT_EQ(ParseRequest("GET https://b/ HTTP/1.1\r\nHost: b\r\n\r\n", limits).state,
            ParseState::kError);
  EXPECT_EQ(ParseRequest("CONNECT b:443 HTTP/1.1\r\nHost: b\r\n\r\n", limits).state,
            ParseState::kError);
}

}  // namespace
}  // namespace bulwark::http

namespace bulwark::http {
namespace {

TEST(CodecTest, ResponseToHeadHasNoContent) {
  constexpr std::string_view kResponse = "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n";
  EXPECT_EQ(ParseResponse(kResponse, {}).state, ParseState::kIncomplete);
  ParseResult<Response> parsed = ParseResponse(kResponse, {}, false, /*head_request=*/true);
  ASSERT_EQ(parsed.state, ParseState::kComplete) << parsed.error;
  EXPECT_EQ(parsed.consumed, kResponse.size());
  EXPECT_EQ(parsed.message.headers.Get("Content-Length"), "42");
  EXPECT_EQ(parsed.message.body, "");
}

}  // namespace
}  // namespace bulwark::http
