package awserr

import (
	"errors"
	"fmt"
	"testing"

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
