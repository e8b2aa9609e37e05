package awsconfig

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// Accounts gives a function the configuration to act on the resources of
// the apps it serves, in any account Highway reaches, the hub's included:
// every call goes through the function's access role in that account, in a
// session tagged with the app it acts for. The role reaches only the resources
// that carry the same app tag, so what a function does for one app cannot
// touch another's. Credentials are cached and refreshed before they expire;
// configurations are built once per app, account and region. It is safe for
// concurrent use.
type Accounts struct {
	base    aws.Config
	role    string
	tag     string
	session string

	mu      sync.Mutex
	configs map[accessKey]aws.Config
}

// accessKey names one session: an app (empty for an untagged one), an
// account and a region.
type accessKey struct{ app, account, region string }

// ErrNoAccessRole is the error of every call made through Accounts when the
// function was given no access role (the CDK app sets one on every function
// that acts in the apps' accounts).
var ErrNoAccessRole = errors.New("no access role: the function acts on no app's resources (HIGHWAY_ACCESS_ROLE is unset)")

// NewAccounts returns the account directory of a function: base is the hub's
// configuration, roleName the name of the function's access role in every
// account (empty: the function may act in none), appTag the tag key of the
// app a session acts for, and sessionName identifies the function in the
// accounts' CloudTrail.
func NewAccounts(base aws.Config, roleName, appTag, sessionName string) *Accounts {
	return &Accounts{base: base, role: roleName, tag: appTag, session: sessionName, configs: map[accessKey]aws.Config{}}
}

// ForApp returns the configuration for calls made for app in account and
// region: a session of the access role tagged with the app. It makes no call:
// the role is assumed on the first request that needs credentials.
func (a *Accounts) ForApp(app, account, region string) aws.Config {
	return a.config(accessKey{app: app, account: account, region: region})
}

// Config returns the configuration for calls in account and region that act
// for no app (listing stacks, answering a pipeline job, reading an alarm's
// tags): an untagged session of the access role, which reaches no resource
// granted by app tag.
func (a *Accounts) Config(account, region string) aws.Config {
	return a.config(accessKey{account: account, region: region})
}

func (a *Accounts) config(key accessKey) aws.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	if cfg, ok := a.configs[key]; ok {
		return cfg
	}
	cfg := a.base.Copy()
	if key.region != "" {
		cfg.Region = key.region
	}
	if a.role == "" {
		cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, ErrNoAccessRole
		})
	} else {
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(a.base), a.RoleARN(key.account), func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = a.session
			if key.app != "" {
				o.Tags = []types.Tag{{Key: aws.String(a.tag), Value: aws.String(key.app)}}
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(provider)
	}
	a.configs[key] = cfg
	return cfg
}

// RoleARN is the access role the function assumes in account.
func (a *Accounts) RoleARN(account string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", account, a.role)
}
