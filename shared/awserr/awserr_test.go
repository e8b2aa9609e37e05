package awserr

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"

	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/aws/smithy-go"
)

func TestRefused(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"missing service", &smithy.GenericAPIError{Code: "ServiceNotFoundException"}, true},
		{"wrapped, as the SDK does", fmt.Errorf("operation error ECS: UpdateService: %w", &smithy.GenericAPIError{Code: "AccessDeniedException"}), true},
		{"automation document", &smithy.GenericAPIError{Code: "AutomationDefinitionNotFoundException"}, true},
		{"throttled", &smithy.GenericAPIError{Code: "ThrottlingException"}, false},
		{"ECS ClientException, which a retry can fix", &smithy.GenericAPIError{Code: "ClientException"}, false},
		{"not an AWS answer", errors.New("connection reset"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Refused(tt.err); got != tt.want {
				t.Errorf("Refused(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestTransient(t *testing.T) {
	serverError := &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 503}},
		Err:      &smithy.GenericAPIError{Code: "ServiceUnavailable"},
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"throttled", &smithy.GenericAPIError{Code: "ThrottlingException"}, true},
		{"DynamoDB over its throughput", fmt.Errorf("query: %w", &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException"}), true},
		{"S3 asks to slow down", &smithy.GenericAPIError{Code: "SlowDown"}, true},
		{"a server error", fmt.Errorf("operation error S3: GetObject: %w", serverError), true},
		{"the connection failed", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"no such key", &smithy.GenericAPIError{Code: "NoSuchKey"}, false},
		{"access denied", &smithy.GenericAPIError{Code: "AccessDenied"}, false},
		{"not an AWS answer", errors.New("zip: not a valid zip file"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Transient(tt.err); got != tt.want {
				t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
