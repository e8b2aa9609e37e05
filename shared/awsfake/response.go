package awsfake

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
)

// Response is a canned answer. JSON, XML and APIError build the usual ones;
// a literal Response sends Status, Header and Body as they are.
type Response struct {
	// Status, Header and Body are sent as they are.
	Status int
	Header http.Header
	Body   []byte

	format string    // "json" or "xml" when built by JSON or XML
	apiErr *apiError // rendered in the request's protocol
	bad    error     // a body that would not parse
}

type apiError struct {
	code, message string
}

// JSON answers with a JSON body, for JSON-protocol and REST operations.
// A body that is not valid JSON is reported as a test error when served.
func JSON(status int, body string) Response {
	r := Response{Status: status, Body: []byte(body), format: "json"}
	if body != "" && !json.Valid(r.Body) {
		r.bad = fmt.Errorf("JSON body is not valid JSON: %.60q", body)
	}
	return r
}

// XML answers with an XML body, for query-protocol operations: the whole
// document, such as <DescribeStacksResponse><DescribeStacksResult>...
// A body that is not well-formed XML is reported as a test error when served.
func XML(status int, body string) Response {
	r := Response{Status: status, Body: []byte(body), format: "xml"}
	d := xml.NewDecoder(bytes.NewReader(r.Body))
	for {
		_, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			r.bad = fmt.Errorf("XML body is not well-formed: %w", err)
			break
		}
	}
	return r
}

// APIError answers with an AWS error in the request's protocol, which the SDK
// parses into a smithy.APIError with this code: a JSON body with __type and
// an X-Amzn-ErrorType header, or a query <ErrorResponse> document.
func APIError(status int, code, message string) Response {
	return Response{Status: status, apiErr: &apiError{code: code, message: message}}
}

// write sends resp, filling in what the protocol expects: content type,
// request id and the error document.
func (s *Server) write(w http.ResponseWriter, req Request, resp Response) {
	switch {
	case resp.bad != nil:
		s.errorf("awsfake: response stubbed for %s: %v", req.Operation, resp.bad)
		resp = APIError(http.StatusInternalServerError, "AwsfakeBadStub", resp.bad.Error())
	case resp.format == "json" && req.Protocol == ProtocolQuery:
		s.errorf("awsfake: %s is a query-protocol operation; answer it with awsfake.XML", req.Operation)
	case resp.format == "xml" && req.Protocol != ProtocolQuery:
		s.errorf("awsfake: %s is a %s-protocol operation; answer it with awsfake.JSON", req.Operation, req.Protocol)
	}

	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	h.Set("X-Amzn-RequestId", req.ID)
	body := resp.Body
	if e := resp.apiErr; e != nil {
		body = e.render(req, resp.Status)
		if req.Protocol != ProtocolQuery {
			h.Set("X-Amzn-ErrorType", e.code)
		}
	}
	if resp.apiErr != nil || h.Get("Content-Type") == "" {
		h.Set("Content-Type", contentType(req))
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	w.Write(body)
}

func contentType(req Request) string {
	switch req.Protocol {
	case ProtocolJSON:
		if ct := req.Header.Get("Content-Type"); ct != "" {
			return ct // application/x-amz-json-1.0 or -1.1, as asked
		}
		return "application/x-amz-json-1.1"
	case ProtocolQuery:
		return "text/xml"
	default:
		return "application/json"
	}
}

func (e *apiError) render(req Request, status int) []byte {
	if req.Protocol != ProtocolQuery {
		b, _ := json.Marshal(struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}{e.code, e.message})
		return b
	}
	fault := "Sender"
	if status >= 500 {
		fault = "Receiver"
	}
	b, _ := xml.Marshal(struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Type      string   `xml:"Error>Type"`
		Code      string   `xml:"Error>Code"`
		Message   string   `xml:"Error>Message"`
		RequestID string   `xml:"RequestId"`
	}{Type: fault, Code: e.code, Message: e.message, RequestID: req.ID})
	return b
}

// JSONOf answers 200 with v marshalled as JSON, for answers a test builds as Go
// values; a value that cannot be marshalled fails the test.
func JSONOf(tb testing.TB, v any) Response {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("awsfake: marshal answer: %v", err)
	}
	return JSON(200, string(b))
}
