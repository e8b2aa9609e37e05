package ledger

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestSortTimeOrdersLikeTime(t *testing.T) {
	base := time.Date(2026, 3, 2, 9, 0, 5, 0, time.UTC)
	// In time order; RFC3339Nano would render these as "…05Z", "…05.000000001Z",
	// "…05.5Z", "…05.51Z", "…06Z" and sort "…05Z" after "…05.5Z".
	times := []time.Time{
		base.Add(-time.Hour).In(time.FixedZone("CET", 3600)),
		base,
		base.Add(1),
		base.Add(500 * time.Millisecond),
		base.Add(510 * time.Millisecond).In(time.FixedZone("PST", -8*3600)),
		base.Add(time.Second),
	}
	var keys []string
	for _, tm := range times {
		keys = append(keys, sortTime(tm))
	}
	if !slices.IsSorted(keys) {
		t.Errorf("sortTime of times in order = %v, want sorted strings", keys)
	}
	for i, k := range keys {
		if len(k) != len(sortTimeLayout) {
			t.Errorf("sortTime(%v) = %q, want width %d", times[i], k, len(sortTimeLayout))
		}
		if got, err := time.Parse(time.RFC3339Nano, k); err != nil || !got.Equal(times[i]) {
			t.Errorf("time.Parse(RFC3339Nano, %q) = %v, %v, want %v", k, got, err, times[i])
		}
	}
}

func TestKeyAttributes(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	sk := "2026-03-02T09:00:00.000000000Z"
	tests := []struct {
		name string
		give Record
		want map[string]string
	}{
		{
			name: "commit and digest",
			give: &Deployment{Header: Header{ID: "d-1", App: "shop", Env: "prod", Commit: "abc", Digest: "sha256:1", At: at}},
			want: map[string]string{
				"pk": "commit#abc", "sk": sk + "#deployment#d-1",
				"gsi1pk": "digest#sha256:1", "gsi1sk": sk + "#deployment#d-1",
				"gsi2pk": "env#shop#prod#deployment", "gsi2sk": sk + "#deployment#d-1",
			},
		},
		{
			name: "no commit, open incident",
			give: &Incident{Header: Header{ID: "i-1", App: "shop", Env: "prod", At: at}},
			want: map[string]string{
				"pk": "incident#i-1", "sk": sk + "#incident#i-1",
				"gsi2pk": "env#shop#prod#incident", "gsi2sk": sk + "#incident#i-1",
				"gsi3pk": "open#incident", "gsi3sk": sk + "#incident#i-1",
			},
		},
		{
			name: "resolved incident leaves the open index",
			give: &Incident{Header: Header{ID: "i-1", App: "shop", Env: "prod", At: at}, ResolvedAt: at.Add(time.Hour)},
			want: map[string]string{
				"pk": "incident#i-1", "sk": sk + "#incident#i-1",
				"gsi2pk": "env#shop#prod#incident", "gsi2sk": sk + "#incident#i-1",
			},
		},
		{
			name: "app without env",
			give: &Build{Header: Header{ID: "b-1", App: "shop", Commit: "abc", At: at}},
			want: map[string]string{"pk": "commit#abc", "sk": sk + "#build#b-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := keyAttributes(tt.give)
			if err != nil || !maps.Equal(got, tt.want) {
				t.Errorf("keyAttributes(%+v) = %v, %v, want %v", tt.give, got, err, tt.want)
			}
		})
	}
}

func TestNewRecordKnowsEveryKind(t *testing.T) {
	kinds := []Kind{
		KindCommit, KindBuild, KindGateDecision, KindArtifact, KindPromotion,
		KindApproval, KindDeployment, KindIncident, KindRemediation, KindDriftReport,
	}
	for _, k := range kinds {
		if rec, ok := newRecord(k); !ok || rec.kind() != k {
			t.Errorf("newRecord(%q) = %T, %v, want a %s record", k, rec, ok, k)
		}
	}
	if _, ok := newRecord("nope"); ok {
		t.Errorf("newRecord(%q) ok, want unknown", "nope")
	}
}

func TestCreateTableInputFollowsSchema(t *testing.T) {
	in := CreateTableInput("ledger")
	if aws.ToString(in.TableName) != "ledger" || in.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("CreateTableInput: table %q billing %q, want ledger, PAY_PER_REQUEST", aws.ToString(in.TableName), in.BillingMode)
	}
	var defined []string
	for _, d := range in.AttributeDefinitions {
		defined = append(defined, aws.ToString(d.AttributeName))
	}
	want := []string{Schema.PartitionKey, Schema.SortKey}
	for _, idx := range Schema.Indexes {
		want = append(want, idx.PartitionKey, idx.SortKey)
	}
	if !slices.Equal(defined, want) {
		t.Errorf("CreateTableInput attributes = %v, want %v", defined, want)
	}
	var indexes []string
	for _, g := range in.GlobalSecondaryIndexes {
		indexes = append(indexes, aws.ToString(g.IndexName)+":"+aws.ToString(g.KeySchema[0].AttributeName)+"/"+aws.ToString(g.KeySchema[1].AttributeName)+":"+string(g.Projection.ProjectionType))
	}
	wantIndexes := []string{"byDigest:gsi1pk/gsi1sk:ALL", "byEnv:gsi2pk/gsi2sk:ALL", "open:gsi3pk/gsi3sk:ALL"}
	if !slices.Equal(indexes, wantIndexes) {
		t.Errorf("CreateTableInput indexes = %v, want %v", indexes, wantIndexes)
	}
}
