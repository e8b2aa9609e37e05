package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/highwayhq/highway/shared/policy"
)

// DefaultVariable is the pipeline variable that receives the digest when the
// policy names none.
const DefaultVariable = "ARTIFACT_DIGEST"

// pipelineDeployer starts the environment's CodePipeline (V2) with the
// digest as a pipeline variable.
type pipelineDeployer struct {
	spec   *policy.PipelineDeploy
	client PipelineClient
}

// Deploy starts one execution per promotion: the client request token is
// derived from the target, so a retried call returns the execution the first
// one started.
func (d pipelineDeployer) Deploy(ctx context.Context, t Target) (Result, error) {
	digest, _, err := digestOf(t)
	if err != nil {
		return Result{}, err
	}
	variable := variableOf(d.spec)
	out, err := d.client.StartPipelineExecution(ctx, &codepipeline.StartPipelineExecutionInput{
		Name:               aws.String(d.spec.Name),
		ClientRequestToken: aws.String(pipelineToken(t, digest)),
		Variables:          []cptypes.PipelineVariable{{Name: aws.String(variable), Value: aws.String(digest)}},
	})
	if err != nil {
		return Result{}, fmt.Errorf("start pipeline %s: %w", d.spec.Name, classify(err))
	}
	id := aws.ToString(out.PipelineExecutionId)
	if id == "" {
		return Result{}, fmt.Errorf("start pipeline %s: no execution id in the answer", d.spec.Name)
	}
	return Result{
		Handle: id,
		Detail: fmt.Sprintf("pipeline %s execution %s with %s=%s", d.spec.Name, id, variable, digest),
	}, nil
}

// variableOf is the variable the policy names, or DefaultVariable.
func variableOf(p *policy.PipelineDeploy) string {
	if p.Variable != "" {
		return p.Variable
	}
	return DefaultVariable
}

// pipelineToken is the idempotency token of a target's execution: "hw-" and
// the hex SHA-256 of app, env, digest and promotion id, NUL-separated (67
// characters of [a-z0-9-], within CodePipeline's 128 and its pattern).
func pipelineToken(t Target, digest string) string {
	h := sha256.New()
	for _, s := range []string{t.App, t.Env, digest, t.Promotion} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "hw-" + hex.EncodeToString(h.Sum(nil))
}
