package awsfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Protocol is the AWS wire protocol a request was made in.
type Protocol string

// The protocols the fake tells apart.
const (
	// ProtocolJSON is awsJson1_0/awsJson1_1: POST with X-Amz-Target "Prefix.Operation".
	ProtocolJSON Protocol = "json"
	// ProtocolQuery is awsQuery: POST of a form with Action=Operation, answered in XML.
	ProtocolQuery Protocol = "query"
	// ProtocolREST is restJson1: the operation is named by method and path (see Server.Route).
	ProtocolREST Protocol = "rest"
)

// Request is one recorded call to the fake, faulted or not.
type Request struct {
	// Operation is the operation name: the X-Amz-Target suffix, the query
	// Action, the name given to Server.Route, or "METHOD /path" for an
	// unrouted REST request.
	Operation string
	// Protocol is how the operation was recognised: JSON, query or REST.
	Protocol Protocol
	// Method is the HTTP method.
	Method string
	// Host is the host the client addressed, host prefixes included.
	Host string
	// URL, Header and Body are the request as the SDK sent it, signed.
	URL    *url.URL
	Header http.Header
	Body   []byte
	// Form is the parsed body of a query-protocol request.
	Form url.Values
	// PathValues are the wildcards of the matched Server.Route pattern.
	PathValues map[string]string
	// Call counts the calls of Operation so far, this one included, from 1.
	Call int
	// ID is the request id the fake answered with.
	ID string
	// Fault is the injected fault that shaped the answer, or zero.
	Fault FaultKind
}

// DecodeJSON unmarshals a JSON request body into v.
func (r Request) DecodeJSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode %s body: %w", r.Operation, err)
	}
	return nil
}
