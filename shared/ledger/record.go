package ledger

import "time"

// Kind names a record type. It is stored with every item so a read can decode the
// item into its concrete type, and it is part of every key.
type Kind string

// The kinds of record on the ledger's causal timeline.
const (
	KindCommit          Kind = "commit"
	KindBuild           Kind = "build"
	KindGateDecision    Kind = "gateDecision"
	KindArtifact        Kind = "artifact"
	KindPromotion       Kind = "promotion"
	KindApproval        Kind = "approval"
	KindDeployment      Kind = "deployment"
	KindIncident        Kind = "incident"
	KindRemediation     Kind = "remediation"
	KindDriftReport     Kind = "driftReport"
	KindBaseline        Kind = "baseline"
	KindApprovalRequest Kind = "approvalRequest"
	KindLock            Kind = "lock"
	KindDORACheckpoint  Kind = "doraCheckpoint"
)

// Header is the part every record shares. Kind, ID, Commit and At are the record's
// identity: the ledger derives the item's key from them, so they must not change
// between Put and Update. App, Env and Digest place the record in the indexes.
type Header struct {
	// Kind is set by the ledger from the record's type on every write.
	Kind Kind `json:"kind"`
	// ID identifies the record among those of its kind (build id, digest, SHA, ...).
	ID string `json:"id"`
	// App is the application the record belongs to, if any.
	App string `json:"app,omitempty"`
	// Env is the environment the record belongs to, if any.
	Env string `json:"env,omitempty"`
	// Commit is the commit SHA the record belongs to; it files the record under
	// that commit's timeline.
	Commit string `json:"commit,omitempty"`
	// Digest is the artifact digest the record concerns; it files the record under
	// that artifact's timeline.
	Digest string `json:"digest,omitempty"`
	// At is when the record happened; it orders every timeline. Stored in UTC.
	At time.Time `json:"at"`
	// Version counts the record's writes: Put stores 1 and each Update adds one.
	Version int64 `json:"version"`
}

// RecordHeader returns the header shared by every record, so code holding a Record
// can read its kind, id and time without a type switch.
func (h *Header) RecordHeader() *Header { return h }

// Record is any of the ledger's record types (always a pointer, e.g. *Commit).
// The set is closed: the ledger must know every kind to decode what it reads.
type Record interface {
	// RecordHeader returns the record's shared header.
	RecordHeader() *Header
	kind() Kind
}

// Commit is a commit pushed to a repository. ID and Commit both hold the SHA;
// At is when it was pushed.
type Commit struct {
	Header
	// Repo is the repository: a CodeCommit repository's name, or a GitHub
	// repository's owner/name.
	Repo string `json:"repo"`
	// Branch is the branch the commit was pushed to.
	Branch string `json:"branch"`
	// Pusher is who pushed the commit: an IAM identity (CodeCommit) or a
	// GitHub user.
	Pusher string `json:"pusher,omitempty"`
	// Author is the commit's author.
	Author string `json:"author,omitempty"`
	// Message is the commit message.
	Message string `json:"message,omitempty"`
	// CommittedAt is the author's commit time; lead time starts here.
	CommittedAt time.Time `json:"committedAt,omitzero,omitempty"`
}

// Build is one CodeBuild build of a commit. ID is the build id; At is when it
// started.
type Build struct {
	Header
	// Project is the CodeBuild project.
	Project string `json:"project"`
	// Status is the build status as CodeBuild reports it (IN_PROGRESS, SUCCEEDED, FAILED, ...).
	Status string `json:"status"`
	// Phases are the build's phases in order.
	Phases []BuildPhase `json:"phases,omitempty"`
	// EndedAt is when the build ended; zero while it runs.
	EndedAt time.Time `json:"endedAt,omitzero,omitempty"`
}

// BuildPhase is one phase of a build as CodeBuild reports it.
type BuildPhase struct {
	// Name is the phase type (INSTALL, BUILD, ...).
	Name string `json:"name"`
	// Status is the phase status (SUCCEEDED, FAILED, ...).
	Status string `json:"status"`
	// Duration is how long the phase took.
	Duration time.Duration `json:"duration,omitempty"`
}

// Verdict is the outcome of a gate.
type Verdict string

// The verdicts a gate can reach.
const (
	VerdictPass Verdict = "pass"
	VerdictFail Verdict = "fail"
)

// GateDecision is the explainable outcome of gating one build. ID is the build id.
type GateDecision struct {
	Header
	// Announced is set once the "Gate Decided" event went out.
	Announced bool `json:"announced,omitempty"`
	// Enforced is set once a failing decision was acted on (the pipeline
	// stopped or the job answered, and people notified).
	Enforced bool `json:"enforced,omitempty"`
	// Enforcement says what was done, for example "stopped execution e-1 of
	// checkout-pipeline".
	Enforcement string `json:"enforcement,omitempty"`
	// Artifact locates what the build produced (Header.Digest is its digest);
	// nil when the build produced nothing to promote.
	Artifact *ArtifactRef `json:"artifact,omitempty"`
	// Verdict is pass when every check passed or was waived.
	Verdict Verdict `json:"verdict"`
	// Checks are the individual checks with what each observed.
	Checks []CheckResult `json:"checks,omitempty"`
}

// CheckResult is one check of a gate decision, with enough to explain it.
type CheckResult struct {
	// Name names the check (compile, lint, security, tests, regression, ...).
	Name string `json:"name"`
	// Input is the report the check read (a file, a CodeBuild report ARN).
	Input string `json:"input,omitempty"`
	// Threshold is the limit the policy sets.
	Threshold float64 `json:"threshold"`
	// Observed is the value the check measured.
	Observed float64 `json:"observed"`
	// Passed says whether Observed was within Threshold.
	Passed bool `json:"passed"`
	// Reason explains the outcome in one line.
	Reason string `json:"reason,omitempty"`
	// Waived says a policy waiver let a failed check through.
	Waived bool `json:"waived,omitempty"`
}

// ArtifactKind says where an artifact lives.
type ArtifactKind string

// The kinds of artifact Highway promotes.
const (
	ArtifactS3    ArtifactKind = "s3"
	ArtifactImage ArtifactKind = "image"
)

// Artifact is an immutable build output, registered by digest. ID is the digest;
// At is when it was registered.
type Artifact struct {
	Header
	// Type says which location fields are set.
	Type ArtifactKind `json:"type"`
	// Bucket is the S3 bucket of an s3 artifact.
	Bucket string `json:"bucket,omitempty"`
	// Key is the S3 object key of an s3 artifact.
	Key string `json:"key,omitempty"`
	// ObjectVersion is the S3 object version of an s3 artifact.
	ObjectVersion string `json:"objectVersion,omitempty"`
	// Repository is the image repository URI of an image artifact.
	Repository string `json:"repository,omitempty"`
	// Tag is the image tag the artifact was pushed with (the digest is what counts).
	Tag string `json:"tag,omitempty"`
	// Quarantined stops the artifact from being promoted further.
	Quarantined bool `json:"quarantined,omitempty"`
	// Reason says why the artifact was quarantined, or refused as a rebuild.
	Reason string `json:"reason,omitempty"`
}

// ArtifactRef locates the artifact a build produced, as its gate decision
// announces it: an image in ECR, or an object in S3.
type ArtifactRef struct {
	// Type is s3 or image.
	Type ArtifactKind `json:"type"`
	// Bucket, Key and ObjectVersion locate an S3 artifact.
	Bucket        string `json:"bucket,omitempty"`
	Key           string `json:"key,omitempty"`
	ObjectVersion string `json:"objectVersion,omitempty"`
	// Repository is an image's ECR repository.
	Repository string `json:"repository,omitempty"`
}

// PromotionStatus is where a promotion stands.
type PromotionStatus string

// The states of a promotion.
const (
	PromotionRequested  PromotionStatus = "requested"
	PromotionWaiting    PromotionStatus = "waitingApproval"
	PromotionDeploying  PromotionStatus = "deploying"
	PromotionSucceeded  PromotionStatus = "succeeded"
	PromotionFailed     PromotionStatus = "failed"
	PromotionRejected   PromotionStatus = "rejected"
	PromotionExpired    PromotionStatus = "expired"
	PromotionRefused    PromotionStatus = "refused"
	PromotionSuperseded PromotionStatus = "superseded"
)

// Final reports whether a promotion in status s has ended.
func (s PromotionStatus) Final() bool {
	switch s {
	case PromotionRequested, PromotionWaiting, PromotionDeploying:
		return false
	}
	return true
}

// Promotion moves one artifact (by digest) into an environment. ID is the
// promotion id; At is when it was requested.
type Promotion struct {
	Header
	// From is the environment the artifact is promoted from; empty for the first.
	From string `json:"from,omitempty"`
	// Status is where the promotion stands.
	Status PromotionStatus `json:"status"`
	// FinishedAt is when the promotion finished; zero while it runs.
	FinishedAt time.Time `json:"finishedAt,omitzero,omitempty"`
	// NotBefore is when the promotion may start: the previous environment's
	// deployment plus this environment's soak time.
	NotBefore time.Time `json:"notBefore,omitzero"`
	// StartedAt is when its deployment started; zero until then.
	StartedAt time.Time `json:"startedAt,omitzero"`
	// Handle identifies the deployment the adapter started (a pipeline
	// execution id, an ECS deployment), to match its completion event.
	Handle string `json:"handle,omitempty"`
	// Deployed says the adapter's deployment was done when it returned (an
	// SSM parameter written, an alias moved): no completion event will come,
	// and the promotion finishes on its own.
	Deployed bool `json:"deployed,omitempty"`
	// Reason says why a promotion was refused, superseded or failed.
	Reason string `json:"reason,omitempty"`
}

// Decision is a human's answer to an approval request.
type Decision string

// The answers an approver can give.
const (
	DecisionApproved Decision = "approved"
	DecisionRejected Decision = "rejected"
)

// Approval is a human decision on promoting a digest into an environment. ID is
// the approval id; At is when it was decided.
type Approval struct {
	Header
	// PromotionID is the promotion waiting on this approval.
	PromotionID string `json:"promotionId,omitempty"`
	// Approver is who decided.
	Approver string `json:"approver"`
	// Decision is what they decided.
	Decision Decision `json:"decision"`
	// Reason is why; a rejection requires one.
	Reason string `json:"reason,omitempty"`
}

// ApprovalStatus is where an approval request stands.
type ApprovalStatus string

// The states of an approval request.
const (
	ApprovalWaiting  ApprovalStatus = "waiting"
	ApprovalApproved ApprovalStatus = "approved"
	ApprovalRejected ApprovalStatus = "rejected"
	ApprovalExpired  ApprovalStatus = "expired"
)

// ApprovalRequest is a promotion waiting for people. ID is an opaque random
// approval id; it is filed without a commit (read with Latest) and under the
// artifact's digest. TaskToken is the Step Functions token the decision
// completes: it never leaves the ledger.
type ApprovalRequest struct {
	Header
	// PromotionID is the promotion waiting.
	PromotionID string `json:"promotionId"`
	// TaskToken is the waiting workflow task's token.
	TaskToken string `json:"taskToken"`
	// Approvers may decide; Quorum of them must approve.
	Approvers []string `json:"approvers"`
	Quorum    int      `json:"quorum"`
	// Expires is when the request ends unanswered.
	Expires time.Time `json:"expires"`
	// Status is where the request stands.
	Status ApprovalStatus `json:"status"`
	// Approved lists who approved so far.
	Approved []string `json:"approved,omitempty"`
	// DecidedBy and Reason record the decision that ended the request.
	DecidedBy string `json:"decidedBy,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Summary is what the approvers were told.
	Summary *ApprovalSummary `json:"summary,omitempty"`
}

// ApprovalSummary is what approvers are told about a promotion waiting for
// them; the promotion checks compute it, the approval request shows it, and the
// request keeps it.
type ApprovalSummary struct {
	// Artifact locates the artifact: repository@digest, or an S3 URL.
	Artifact string `json:"artifact"`
	// From is the environment the artifact was verified in.
	From string `json:"from,omitempty"`
	// Commit is the artifact's commit.
	Commit CommitLine `json:"commit"`
	// Gate is the gate decision's verdict, with its failed or waived checks.
	Gate string `json:"gate"`
	// Running is what the environment runs now, if anything.
	Running string `json:"running,omitempty"`
	// Commits are what the promotion brings: the commits deployed to From since
	// the environment's last deployment.
	Commits []CommitLine `json:"commits,omitempty"`
	// SoakSeconds is how long the artifact has run in From.
	SoakSeconds int64 `json:"soakSeconds,omitempty"`
	// OpenAlarms are the app's open incidents in the environment.
	OpenAlarms []string `json:"openAlarms,omitempty"`
}

// CommitLine is one commit as approvers see it.
type CommitLine struct {
	SHA     string `json:"sha"`
	Author  string `json:"author,omitempty"`
	Message string `json:"message,omitempty"`
}

// Lock serializes the promotions of one app and environment. ID is
// "<app>/<env>"; it is filed without a commit and kept through updates: a holder
// takes it with a conditional Update of its version.
type Lock struct {
	Header
	// Holder is the promotion holding the lock; empty when free.
	Holder string `json:"holder,omitempty"`
	// Until is when a holder that never released it loses it.
	Until time.Time `json:"until,omitzero"`
}

// DeploymentStatus is how a deployment ended.
type DeploymentStatus string

// The outcomes of a deployment.
const (
	DeploymentSuccess DeploymentStatus = "success"
	DeploymentFailure DeploymentStatus = "failure"
)

// Deployment is a finished deployment of a digest into an environment. ID is the
// deployment id; At is when it started; Header.Commit is the newest commit deployed.
type Deployment struct {
	Header
	// Commits are every commit the deployment brought to the environment, newest
	// first; lead time is measured for each.
	Commits []string `json:"commits,omitempty"`
	// PromotionID is the promotion that ran the deployment.
	PromotionID string `json:"promotionId,omitempty"`
	// Status is how the deployment ended.
	Status DeploymentStatus `json:"status"`
	// FinishedAt is when the deployment ended.
	FinishedAt time.Time `json:"finishedAt,omitzero,omitempty"`
	// Duration is FinishedAt minus At, kept so metrics need no arithmetic.
	Duration time.Duration `json:"duration,omitempty"`
	// CommittedAt is the author time of each of Commits that the ledger knew
	// when the deployment was recorded, by SHA: lead time needs no lookup.
	CommittedAt map[string]time.Time `json:"committedAt,omitempty"`
}

// Incident is an alarm that fired for an app+env. ID is the incident id; At is when
// it opened. An incident is open until ResolvedAt is set.
type Incident struct {
	Header
	// Alarm is the CloudWatch alarm name or ARN.
	Alarm string `json:"alarm"`
	// ResolvedAt is when the incident resolved; zero while it is open.
	ResolvedAt time.Time `json:"resolvedAt,omitzero,omitempty"`
	// DeploymentID is the deployment the incident is blamed on, if any.
	DeploymentID string `json:"deploymentId,omitempty"`
}

// open reports whether the incident belongs in the open-incidents index.
func (i *Incident) open() bool { return i.ResolvedAt.IsZero() }

// Remediation is a runbook action taken for an incident. ID is the remediation id;
// At is when it ran; Header.Digest is the digest it acted on (e.g. rolled back to).
type Remediation struct {
	Header
	// IncidentID is the incident the action answered.
	IncidentID string `json:"incidentId"`
	// Action is the runbook action (rollback, redeploy, scale, ssm, notify).
	Action string `json:"action"`
	// DryRun says the action was only planned, not executed.
	DryRun bool `json:"dryRun,omitempty"`
	// Failed says the action was tried and failed; the circuit breaker counts
	// failures.
	Failed bool `json:"failed,omitempty"`
	// Result says what happened, in one line.
	Result string `json:"result,omitempty"`
}

// DriftReport is one drift check of a stack or of an app+env's running digest. ID is
// the report id; At is when the check ran.
type DriftReport struct {
	Header
	// Stack is the CloudFormation stack checked, if any.
	Stack string `json:"stack,omitempty"`
	// Workspace is the Terraform workspace checked, if any (the policy's
	// drift.terraform name), and Project the CodeBuild project that planned it.
	Workspace string `json:"workspace,omitempty"`
	Project   string `json:"project,omitempty"`
	// Status is the outcome (IN_SYNC, DRIFTED, or DIGEST_MISMATCH for an env
	// running a digest other than the one promoted).
	Status string `json:"status"`
	// Resources is how many resources were checked.
	Resources int `json:"resources,omitempty"`
	// Drifted are the resources found changed by hand.
	Drifted []DriftedResource `json:"drifted,omitempty"`
	// ExpectedDigest is the digest promoted to the env; Header.Digest is the one
	// found running.
	ExpectedDigest string `json:"expectedDigest,omitempty"`
	// Account and Region locate the stack or the environment checked.
	Account string `json:"account,omitempty"`
	Region  string `json:"region,omitempty"`
	// DetectionID is CloudFormation's stack drift detection id, or the
	// CodeBuild build id (project:uuid) that planned a Terraform workspace.
	DetectionID string `json:"detectionId,omitempty"`
	// Reason says why a check failed (Status DETECTION_FAILED), when Highway
	// knows: a Terraform workspace's build left no plan it could read, say.
	Reason string `json:"reason,omitempty"`
	// Target says what a runtime check read: a Lambda alias, an ECS service or
	// an SSM parameter.
	Target string `json:"target,omitempty"`
	// Changed says the report differs from the previous one of the same stack
	// or environment (and so was alerted on).
	Changed bool `json:"changed,omitempty"`
	// Current marks the latest report of its stack or environment: it is in
	// the ledger's open index (CurrentDriftReports) until a newer one replaces it.
	Current bool `json:"current,omitempty"`
}

func (r *DriftReport) open() bool { return r.Current }

// PropertyDifference is one property of a drifted resource, as CloudFormation
// reports it, or one attribute of a drifted Terraform resource.
type PropertyDifference struct {
	// Path is the property's JSON path, for example /SecurityGroupIngress/2,
	// or a Terraform attribute path such as ingress[0].cidr_blocks.
	Path string `json:"path"`
	// Expected and Actual are the template's value and the live one (for
	// Terraform, the state's and the refreshed one, sensitive values masked).
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	// Type is ADD, REMOVE or NOT_EQUAL.
	Type string `json:"type"`
}

// DriftedResource is one resource whose live state differs from its template.
type DriftedResource struct {
	// LogicalID is the resource's logical id in the stack, or a Terraform
	// resource's address (module.net.aws_security_group.web).
	LogicalID string `json:"logicalId"`
	// Type is the CloudFormation or Terraform resource type.
	Type string `json:"type"`
	// Status is MODIFIED, DELETED, IN_SYNC or NOT_CHECKED.
	Status string `json:"status"`
	// PhysicalID is the resource's physical id.
	PhysicalID string `json:"physicalId,omitempty"`
	// Differences are the properties changed by hand.
	Differences []PropertyDifference `json:"differences,omitempty"`
	// Severity is the policy's severity for this change: critical, high,
	// medium or low.
	Severity string `json:"severity,omitempty"`
	// Suppressed says the policy marks this change a known false positive; it
	// stays visible but raises no alert. SuppressedBecause is the reason.
	Suppressed        bool   `json:"suppressed,omitempty"`
	SuppressedBecause string `json:"suppressedBecause,omitempty"`
}

// Baseline is the test timing window of one app's branch: the durations of its
// most recent passing builds, that a build's tests are compared with. ID is
// "<app>/<branch>"; it has no commit, and At is when it was first created (it is
// kept through updates).
type Baseline struct {
	Header
	// Suite is the total test time of each build in the window, oldest first.
	Suite []time.Duration `json:"suite,omitempty"`
	// Tests maps a test to its durations in the builds that ran it.
	Tests map[string][]time.Duration `json:"tests,omitempty"`
}

// DORACheckpoint is what the scheduled DORA run has read of one app+env's
// records, so the next run reads only what may have changed since. ID is
// "<app>/<env>"; it has no commit, and At is when it was first written (it is
// kept through updates). Only what the metrics need is kept, over the longest
// window and its margins.
type DORACheckpoint struct {
	Header
	// Through is the time the last run read the ledger up to.
	Through time.Time `json:"through"`
	// Deployments are the environment's deployments.
	Deployments []DeploymentFact `json:"deployments,omitempty"`
	// Rollbacks are the promotions that rolled the environment back, each
	// with the time it was requested, by id.
	Rollbacks map[string]time.Time `json:"rollbacks,omitempty"`
	// Incidents are the environment's incidents.
	Incidents []IncidentFact `json:"incidents,omitempty"`
	// CommittedAt is the author time of each deployed commit, by SHA.
	CommittedAt map[string]time.Time `json:"committedAt,omitempty"`
}

// DeploymentFact is what the DORA metrics use of a Deployment.
type DeploymentFact struct {
	ID          string           `json:"id"`
	PromotionID string           `json:"promotionId,omitempty"`
	Status      DeploymentStatus `json:"status"`
	At          time.Time        `json:"at"`
	FinishedAt  time.Time        `json:"finishedAt,omitzero,omitempty"`
	Commits     []string         `json:"commits,omitempty"`
}

// IncidentFact is what the DORA metrics use of an Incident.
type IncidentFact struct {
	ID           string    `json:"id"`
	DeploymentID string    `json:"deploymentId,omitempty"`
	At           time.Time `json:"at"`
	ResolvedAt   time.Time `json:"resolvedAt,omitzero,omitempty"`
}

func (*Commit) kind() Kind          { return KindCommit }
func (*Build) kind() Kind           { return KindBuild }
func (*GateDecision) kind() Kind    { return KindGateDecision }
func (*Artifact) kind() Kind        { return KindArtifact }
func (*Promotion) kind() Kind       { return KindPromotion }
func (*Approval) kind() Kind        { return KindApproval }
func (*Deployment) kind() Kind      { return KindDeployment }
func (*Incident) kind() Kind        { return KindIncident }
func (*Remediation) kind() Kind     { return KindRemediation }
func (*DriftReport) kind() Kind     { return KindDriftReport }
func (*Baseline) kind() Kind        { return KindBaseline }
func (*ApprovalRequest) kind() Kind { return KindApprovalRequest }
func (*Lock) kind() Kind            { return KindLock }
func (*DORACheckpoint) kind() Kind  { return KindDORACheckpoint }

// newRecord returns an empty record of kind k, for decoding into.
func newRecord(k Kind) (Record, bool) {
	switch k {
	case KindCommit:
		return new(Commit), true
	case KindBuild:
		return new(Build), true
	case KindGateDecision:
		return new(GateDecision), true
	case KindArtifact:
		return new(Artifact), true
	case KindPromotion:
		return new(Promotion), true
	case KindApproval:
		return new(Approval), true
	case KindDeployment:
		return new(Deployment), true
	case KindIncident:
		return new(Incident), true
	case KindRemediation:
		return new(Remediation), true
	case KindDriftReport:
		return new(DriftReport), true
	case KindBaseline:
		return new(Baseline), true
	case KindApprovalRequest:
		return new(ApprovalRequest), true
	case KindLock:
		return new(Lock), true
	case KindDORACheckpoint:
		return new(DORACheckpoint), true
	}
	return nil, false
}
