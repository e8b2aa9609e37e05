package telemetry

// Namespace is the CloudWatch namespace of every Highway metric.
const Namespace = "Highway"

// The dimensions of Highway's metrics, named once for the handlers that
// write them and the dashboards that search them.
const (
	// DimApp is the app a metric is about.
	DimApp = "App"
	// DimEnv is the environment of the app.
	DimEnv = "Env"
	// DimWindow is the window of a DORA metric, such as 7d.
	DimWindow = "Window"
	// DimSeverity is the severity of drifted resources.
	DimSeverity = "Severity"
)

// The metrics Highway writes, every one in Namespace: the handlers write
// them and the dashboard reads them, from this one list.
const (
	// MetricCommitsRecorded counts new commits, with an App dimension.
	MetricCommitsRecorded = "CommitsRecorded"

	// MetricGatePassed is 1 for each build the gate passed and 0 for each it
	// failed, with an App dimension: its average is the gate's pass rate and
	// its sample count the number of decisions. It is written once per
	// decision, when the decision is recorded.
	MetricGatePassed = "GatePassed"

	// MetricApprovalsWaiting is the number of promotions of an environment
	// waiting for their approval, with App and Env dimensions, written each
	// time the promoter advances an environment that requires approval (every
	// minute's tick, and when the deployment before it finishes).
	MetricApprovalsWaiting = "ApprovalsWaiting"

	// MetricDriftedStacks is 1 for a drift report with unsuppressed drift,
	// else 0.
	MetricDriftedStacks = "DriftedStacks"
	// MetricDriftedWorkspaces is 1 for a Terraform workspace's drift report
	// with unsuppressed drift, else 0.
	MetricDriftedWorkspaces = "DriftedWorkspaces"
	// MetricDriftedResources counts a report's unsuppressed drifted
	// resources, with a Severity dimension.
	MetricDriftedResources = "DriftedResources"
	// MetricDetectionsFailed is 1 for every failed drift detection.
	MetricDetectionsFailed = "DriftDetectionsFailed"
	// MetricArtifactDrift is 1 for an environment running a digest other
	// than the one promoted there, else 0, with App and Env dimensions.
	MetricArtifactDrift = "ArtifactDrift"

	// The DORA metrics, with App, Env and Window dimensions: deployments in
	// the window and per day, lead time p50 and p90 in seconds, failed
	// changes and the change failure rate in percent, and the median time
	// to restore in seconds.
	MetricDeploymentsInWindow   = "Deployments"
	MetricDeploymentsPerDay     = "DeploymentsPerDay"
	MetricLeadTimeP50           = "LeadTimeP50"
	MetricLeadTimeP90           = "LeadTimeP90"
	MetricFailedChangesInWindow = "FailedChanges"
	MetricChangeFailureRate     = "ChangeFailureRate"
	MetricTimeToRestoreP50      = "TimeToRestoreP50"
)
