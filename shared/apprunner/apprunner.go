// Package apprunner deploys an image by digest to an AWS App Runner service
// and follows the operation that rolls it out: the App Runner side of
// promotion, runtime drift and alarm response. Which service comes from the
// policy, by ARN or by name.
package apprunner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/aws/smithy-go"
	"github.com/highwayhq/highway/shared/imageref"
)

// Client is the part of the App Runner API Highway calls.
type Client interface {
	ListServices(ctx context.Context, params *apprunner.ListServicesInput, optFns ...func(*apprunner.Options)) (*apprunner.ListServicesOutput, error)
	DescribeService(ctx context.Context, params *apprunner.DescribeServiceInput, optFns ...func(*apprunner.Options)) (*apprunner.DescribeServiceOutput, error)
	UpdateService(ctx context.Context, params *apprunner.UpdateServiceInput, optFns ...func(*apprunner.Options)) (*apprunner.UpdateServiceOutput, error)
	ListOperations(ctx context.Context, params *apprunner.ListOperationsInput, optFns ...func(*apprunner.Options)) (*apprunner.ListOperationsOutput, error)
	StartDeployment(ctx context.Context, params *apprunner.StartDeploymentInput, optFns ...func(*apprunner.Options)) (*apprunner.StartDeploymentOutput, error)
	PauseService(ctx context.Context, params *apprunner.PauseServiceInput, optFns ...func(*apprunner.Options)) (*apprunner.PauseServiceOutput, error)
	ResumeService(ctx context.Context, params *apprunner.ResumeServiceInput, optFns ...func(*apprunner.Options)) (*apprunner.ResumeServiceOutput, error)
}

var _ Client = (*apprunner.Client)(nil)

// ErrRefused marks what cannot work as asked: no such service, a service that
// does not run an image from ECR. A retry does not help.
var ErrRefused = errors.New("refused by App Runner")

// ErrBusy marks a service in the middle of another operation; App Runner
// takes one at a time, so a later retry may succeed.
var ErrBusy = errors.New("service busy with another operation")

// Service is what runs in one App Runner service.
type Service struct {
	ARN, Name string
	// Status is App Runner's: RUNNING, PAUSED, OPERATION_IN_PROGRESS…
	Status types.ServiceStatus
	// Image is the image identifier the service runs.
	Image string
	// Digest is Image's "sha256:…" digest; empty when it names a tag, which
	// is drift for Highway.
	Digest string

	source *types.SourceConfiguration
}

// Describe finds service, by ARN or by name (among the services of the
// client's account and region), and says what it runs.
func Describe(ctx context.Context, c Client, service string) (Service, error) {
	arn, err := resolve(ctx, c, service)
	if err != nil {
		return Service{}, err
	}
	out, err := c.DescribeService(ctx, &apprunner.DescribeServiceInput{ServiceArn: aws.String(arn)})
	if _, missing := errors.AsType[*types.ResourceNotFoundException](err); missing {
		return Service{}, fmt.Errorf("%w: no App Runner service %s", ErrRefused, service)
	}
	if err != nil {
		return Service{}, fmt.Errorf("describe App Runner service %s: %w", service, err)
	}
	if out.Service == nil || out.Service.SourceConfiguration == nil {
		return Service{}, fmt.Errorf("describe App Runner service %s: no source configuration in the answer", service)
	}
	s := Service{ARN: arn, Name: aws.ToString(out.Service.ServiceName), Status: out.Service.Status, source: out.Service.SourceConfiguration}
	repo := s.source.ImageRepository
	if repo == nil {
		return Service{}, fmt.Errorf("%w: App Runner service %s deploys from a code repository, not an image", ErrRefused, service)
	}
	s.Image = aws.ToString(repo.ImageIdentifier)
	s.Digest, _ = imageref.Digest(s.Image)
	return s, nil
}

// resolve returns service's ARN, looking a name up with ListServices.
func resolve(ctx context.Context, c Client, service string) (string, error) {
	if strings.HasPrefix(service, "arn:") {
		return service, nil
	}
	p := apprunner.NewListServicesPaginator(c, &apprunner.ListServicesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list App Runner services: %w", err)
		}
		for _, s := range page.ServiceSummaryList {
			if aws.ToString(s.ServiceName) == service {
				return aws.ToString(s.ServiceArn), nil
			}
		}
	}
	return "", fmt.Errorf("%w: no App Runner service named %s", ErrRefused, service)
}

// SetImage makes the service run image (repository@digest, from ECR): one
// UpdateService that changes the image identifier alone, keeping the image's
// port, variables, secrets, start command and access role. It returns the
// operation that rolls it out, or "" when the service already runs image.
// App Runner's UpdateService takes no precondition: a change someone makes to
// the service's source between the read and the update is written over.
func SetImage(ctx context.Context, c Client, service, image string) (Service, string, error) {
	s, err := Describe(ctx, c, service)
	if err != nil {
		return Service{}, "", err
	}
	if s.Image == image {
		return s, "", nil
	}
	if s.Status == types.ServiceStatusPaused {
		return Service{}, "", fmt.Errorf("%w: App Runner service %s is paused; resume it to deploy", ErrRefused, service)
	}
	repo := *s.source.ImageRepository // its ImageConfiguration (port, variables, secrets, start command) goes back as it is
	if repo.ImageRepositoryType != types.ImageRepositoryTypeEcr {
		return Service{}, "", fmt.Errorf("%w: App Runner service %s runs an image from %s, not a private ECR repository", ErrRefused, service, repo.ImageRepositoryType)
	}
	repo.ImageIdentifier = aws.String(image)
	out, err := c.UpdateService(ctx, &apprunner.UpdateServiceInput{
		ServiceArn: aws.String(s.ARN),
		SourceConfiguration: &types.SourceConfiguration{
			ImageRepository:             &repo,
			AuthenticationConfiguration: s.source.AuthenticationConfiguration,
			AutoDeploymentsEnabled:      s.source.AutoDeploymentsEnabled,
		},
	})
	if err != nil {
		return Service{}, "", fmt.Errorf("update App Runner service %s: %w", service, busy(s.ARN, err))
	}
	return s, aws.ToString(out.OperationId), nil
}

// Phase is where an App Runner operation stands.
type Phase string

// The phases of an operation.
const (
	// Running: PENDING or IN_PROGRESS.
	Running Phase = "RUNNING"
	// Succeeded: the service runs what the operation asked.
	Succeeded Phase = "SUCCEEDED"
	// Failed: FAILED, or App Runner rolled (or is rolling) the service back
	// to what ran before: the new image does not run.
	Failed Phase = "FAILED"
)

// Operation returns the phase of the operation id on the service (its ARN)
// and App Runner's own status, from ListOperations, newest first.
func Operation(ctx context.Context, c Client, serviceARN, id string) (Phase, types.OperationStatus, error) {
	p := apprunner.NewListOperationsPaginator(c, &apprunner.ListOperationsInput{ServiceArn: aws.String(serviceARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", "", fmt.Errorf("list operations of %s: %w", serviceARN, err)
		}
		for _, op := range page.OperationSummaryList {
			if aws.ToString(op.Id) != id {
				continue
			}
			switch op.Status {
			case types.OperationStatusSucceeded:
				return Succeeded, op.Status, nil
			case types.OperationStatusPending, types.OperationStatusInProgress:
				return Running, op.Status, nil
			default:
				return Failed, op.Status, nil
			}
		}
	}
	// Not (yet) listed: right after UpdateService the list may lag, so this
	// is not a refusal; a caller that keeps not finding it times out.
	return "", "", fmt.Errorf("no operation %s listed for %s yet", id, serviceARN)
}

// Redeploy starts a deployment of what the service's source names, as the
// console's Deploy button does; Pause and Resume stop and restart its
// instances. Each returns the operation it started.
func Redeploy(ctx context.Context, c Client, serviceARN string) (string, error) {
	out, err := c.StartDeployment(ctx, &apprunner.StartDeploymentInput{ServiceArn: aws.String(serviceARN)})
	if err != nil {
		return "", busy(serviceARN, err)
	}
	return aws.ToString(out.OperationId), nil
}

// Pause stops the service's instances; see Redeploy.
func Pause(ctx context.Context, c Client, serviceARN string) (string, error) {
	out, err := c.PauseService(ctx, &apprunner.PauseServiceInput{ServiceArn: aws.String(serviceARN)})
	if err != nil {
		return "", busy(serviceARN, err)
	}
	return aws.ToString(out.OperationId), nil
}

// Resume restarts a paused service's instances; see Redeploy.
func Resume(ctx context.Context, c Client, serviceARN string) (string, error) {
	out, err := c.ResumeService(ctx, &apprunner.ResumeServiceInput{ServiceArn: aws.String(serviceARN)})
	if err != nil {
		return "", busy(serviceARN, err)
	}
	return aws.ToString(out.OperationId), nil
}

// busy marks App Runner's InvalidStateException as ErrBusy, by its code:
// the SDK models it as a type for some operations only (StartDeployment's
// answer is a generic API error with that code).
func busy(serviceARN string, err error) error {
	if ae, ok := errors.AsType[smithy.APIError](err); ok && ae.ErrorCode() == "InvalidStateException" {
		return fmt.Errorf("%w: %s: %w", ErrBusy, serviceARN, err)
	}
	return fmt.Errorf("service %s: %w", serviceARN, err)
}
