//go:build !highway_noxray

package telemetry

// withXRay says this build traces with the X-Ray SDK.
const withXRay = true
