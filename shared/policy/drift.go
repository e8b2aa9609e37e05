package policy

import "time"

// Drift configures drift detection: which stacks are checked, how often and
// how fast, how severe each kind of change is, and which changes are known
// false positives. Environments Highway deploys to are also checked at runtime:
// what runs is compared with the digest promoted there.
type Drift struct {
	// Schedule is an EventBridge schedule expression, for example
	// rate(6 hours) or cron(0 6 * * ? *).
	Schedule string `yaml:"schedule" json:"schedule" policy:"required"`
	// Stacks selects the stacks checked in every account Highway reaches (the
	// hub's and the spokes'): a stack is checked when its name starts with one
	// of Prefixes (any, when none) and it carries all of Tags.
	Stacks StackSelector `yaml:"stacks" json:"stacks" policy:"required"`
	// Concurrency is how many drift detections run at once per account;
	// default 4.
	Concurrency int `yaml:"concurrency,omitempty" json:"concurrency,omitempty"`
	// RatePerSecond bounds the CloudFormation calls per account and second;
	// default 2 (CloudFormation throttles after about 20 calls in a burst).
	RatePerSecond float64 `yaml:"ratePerSecond,omitempty" json:"ratePerSecond,omitempty"`
	// Severities rate changes by resource type and property path, first match
	// wins; an unmatched change is medium.
	Severities []SeverityRule `yaml:"severities,omitempty" json:"severities,omitempty"`
	// Suppressions are known false positives: reported, never alerted on.
	Suppressions []Suppression `yaml:"suppressions,omitempty" json:"suppressions,omitempty"`
	// Terraform are the Terraform root modules (one entry per workspace)
	// checked in the same rounds: Highway starts each one's CodeBuild
	// project, which runs a refresh-only plan, and reads the plan from the
	// build's artifact.
	Terraform []TerraformWorkspace `yaml:"terraform,omitempty" json:"terraform,omitempty"`
}

// TerraformWorkspace is one Terraform root module and workspace whose drift
// a CodeBuild project finds: it runs terraform plan -refresh-only and writes
// terraform show -json of the plan to drift.json in its artifact.
type TerraformWorkspace struct {
	// Name identifies the workspace in reports, alerts and metrics; unique
	// in the policy.
	Name string `yaml:"name" json:"name" policy:"required"`
	// Project is the CodeBuild project that plans it.
	Project string `yaml:"project" json:"project" policy:"required"`
	// Account and Region are where the project is: the hub's or an
	// environment's, where Highway has its drift access role.
	Account string `yaml:"account" json:"account" policy:"required"`
	Region  string `yaml:"region" json:"region" policy:"required"`
	// ArtifactBucket is the S3 bucket of the project's output artifact,
	// which Highway's drift access role may read.
	ArtifactBucket string `yaml:"artifactBucket" json:"artifactBucket" policy:"required"`
}

// StackSelector selects stacks by name prefix and tags.
type StackSelector struct {
	// Prefixes are stack name prefixes; empty selects every name.
	Prefixes []string `yaml:"prefixes,omitempty" json:"prefixes,omitempty"`
	// Tags must all be on a stack (key: value) for it to be checked.
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// SeverityRule rates the changes of one resource type (and property).
type SeverityRule struct {
	// Type is a CloudFormation resource type, or a Terraform one such as
	// aws_security_group; path.Match syntax, so AWS::IAM::* matches every
	// IAM type and aws_iam_* every Terraform IAM type.
	Type string `yaml:"type" json:"type" policy:"required"`
	// Property is a property path prefix, for example /SecurityGroupIngress
	// for CloudFormation, or an attribute path such as ingress or
	// tags.Owner for Terraform; empty matches every property.
	Property string `yaml:"property,omitempty" json:"property,omitempty"`
	// Severity is critical, high, medium or low.
	Severity string `yaml:"severity" json:"severity" policy:"required"`
}

// Suppression marks the changes of one resource type and property path as a
// known false positive.
type Suppression struct {
	// Type is a CloudFormation or Terraform resource type (path.Match
	// syntax).
	Type string `yaml:"type" json:"type" policy:"required"`
	// Property is a property or attribute path prefix, as for
	// SeverityRule; empty matches every property.
	Property string `yaml:"property,omitempty" json:"property,omitempty"`
	// Until ends the suppression; zero never does.
	Until time.Time `yaml:"until,omitempty" json:"until,omitzero"`
	// Reason says why the change is expected.
	Reason string `yaml:"reason" json:"reason" policy:"required"`
}
