package awsconfig

import (
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Accounts gives the configuration to act in any account Highway reaches: the
// hub's own for the hub account, and for every other account one whose
// credentials come from assuming Highway's spoke role there. Credentials are
// cached and refreshed before they expire; configurations are built once per
// account and region. It is safe for concurrent use.
type Accounts struct {
	base    aws.Config
	hub     string
	role    string
	session string

	mu      sync.Mutex
	configs map[[2]string]aws.Config
}

// NewAccounts returns the account directory of a hub: base is the hub's
// configuration, hubAccount its account id, roleName the spoke role's name, and
// sessionName identifies the function in the spoke accounts' CloudTrail.
func NewAccounts(base aws.Config, hubAccount, roleName, sessionName string) *Accounts {
	return &Accounts{base: base, hub: hubAccount, role: roleName, session: sessionName, configs: map[[2]string]aws.Config{}}
}

// Config returns the configuration for calls to account in region. It makes no
// call: the role is assumed on the first request that needs credentials.
func (a *Accounts) Config(account, region string) aws.Config {
	key := [2]string{account, region}
	a.mu.Lock()
	defer a.mu.Unlock()
	if cfg, ok := a.configs[key]; ok {
		return cfg
	}
	cfg := a.base.Copy()
	if region != "" {
		cfg.Region = region
	}
	if account != a.hub {
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(a.base), a.RoleARN(account), func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = a.session
		})
		cfg.Credentials = aws.NewCredentialsCache(provider)
	}
	a.configs[key] = cfg
	return cfg
}

// RoleARN is the spoke role Highway assumes in account.
func (a *Accounts) RoleARN(account string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", account, a.role)
}
