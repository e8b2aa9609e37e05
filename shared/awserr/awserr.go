// Package awserr tells AWS errors that a retry cannot fix from those it can,
// for every adapter that acts on AWS (deployments, remediations).
package awserr

import (
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/aws/smithy-go"
)

// refusedCodes are the AWS error codes that mean the request cannot succeed
// as made: the resource does not exist, the input is invalid, or the caller
// lacks permission. Retrying them would only delay the failure. ECS's
// ClientException is left out: ECS also uses it for concurrent revisions of
// one family, which a retry fixes.
var refusedCodes = map[string]bool{
	"AccessDenied":                                   true,
	"AccessDeniedException":                          true,
	"ValidationException":                            true,
	"ResourceNotFoundException":                      true,
	"InvalidParameterValueException":                 true,
	"InvalidParameterException":                      true,
	"PipelineNotFoundException":                      true,
	"ClusterNotFoundException":                       true,
	"ServiceNotFoundException":                       true,
	"ServiceNotActiveException":                      true,
	"PlatformUnknownException":                       true,
	"PlatformTaskDefinitionIncompatibilityException": true,
	"UnsupportedFeatureException":                    true,
	"ParameterPatternMismatchException":              true,
	"ParameterLimitExceeded":                         true,
	"ParameterMaxVersionLimitExceeded":               true,
	"HierarchyLevelLimitExceededException":           true,
	"HierarchyTypeMismatchException":                 true,
	"UnsupportedParameterType":                       true,
	"InvalidAllowedPatternException":                 true,
	"InvalidKeyId":                                   true,
	// SSM Automation, which alarm response starts.
	"AutomationDefinitionNotFoundException":         true,
	"AutomationDefinitionVersionNotFoundException":  true,
	"AutomationDefinitionNotApprovedException":      true,
	"InvalidAutomationExecutionParametersException": true,
	"IdempotentParameterMismatch":                   true,
	"InvalidTarget":                                 true,
}

// Refused reports whether AWS answered err with a code that a retry cannot
// fix (refusedCodes).
func Refused(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && refusedCodes[ae.ErrorCode()]
}

// Transient reports whether err is one a retry may fix: AWS throttled the
// call (the SDK's throttle and retryable codes), failed on its side (HTTP
// 5xx), or the connection failed. Evidence read with such an error is
// missing by chance, not absent: the reader retries rather than decide on
// it.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		if _, ok := retry.DefaultThrottleErrorCodes[code]; ok {
			return true
		}
		if _, ok := retry.DefaultRetryableErrorCodes[code]; ok {
			return true
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}
