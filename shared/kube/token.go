package kube

import (
	"context"
	"encoding/base64"
	"fmt"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Presigner presigns STS calls; sts.NewPresignClient returns one.
type Presigner interface {
	PresignGetCallerIdentity(ctx context.Context, params *sts.GetCallerIdentityInput, optFns ...func(*sts.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

var _ Presigner = (*sts.PresignClient)(nil)

// tokenPrefix begins every EKS bearer token.
const tokenPrefix = "k8s-aws-v1."

// ClusterIDHeader names the cluster a token is for; it is signed into the
// presigned request, so a token for one cluster is refused by another.
const ClusterIDHeader = "x-k8s-aws-id"

// Token returns a bearer token for the EKS cluster named cluster, made as
// `aws eks get-token` and aws-iam-authenticator make it: an STS
// GetCallerIdentity presigned with the credentials of the caller, for 60
// seconds (EKS accepts the token for 15 minutes), with the x-k8s-aws-id
// header signed, then "k8s-aws-v1." and the URL in unpadded base64url. The
// cluster maps the caller's role to a Kubernetes identity with an access
// entry (or the aws-auth ConfigMap), and RBAC decides what it may do.
func Token(ctx context.Context, p Presigner, cluster string) (string, error) {
	req, err := p.PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.PresignOptions) {
		o.ClientOptions = append(o.ClientOptions, func(so *sts.Options) {
			so.APIOptions = append(so.APIOptions,
				smithyhttp.AddHeaderValue(ClusterIDHeader, cluster),
				smithyhttp.AddHeaderValue("X-Amz-Expires", "60"))
		})
	})
	if err != nil {
		return "", fmt.Errorf("presign a token for cluster %s: %w", cluster, err)
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(req.URL)), nil
}
