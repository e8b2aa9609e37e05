package dora

import "time"

// Band is a DORA performance band; "" when there is nothing to judge.
type Band string

// The bands, best first.
const (
	Elite  Band = "elite"
	High   Band = "high"
	Medium Band = "medium"
	Low    Band = "low"
)

// The band thresholds follow the software delivery performance clusters of
// the Accelerate State of DevOps Report 2023 (DORA, Google Cloud):
//
//	                      elite                high                  medium                 low
//	deployment frequency  on demand            daily to weekly       weekly to monthly      less than monthly
//	lead time             less than a day      a day to a week       a week to a month      more than a month
//	change failure rate   5%                   10%                   15%                    64%
//	time to restore       less than an hour    less than a day       a day to a week        more than a week
//
// The report gives ranges per cluster; where two ranges meet or leave a gap,
// a value belongs to the better band up to that band's upper end. "On demand"
// is read as at least one deployment a day.
const (
	day   = 24 * time.Hour
	week  = 7 * day
	month = 30 * day
)

// Bands are the band of each metric.
type Bands struct {
	DeploymentFrequency, LeadTime, ChangeFailureRate, TimeToRestore Band
}

// BandsOf places each of m's metrics in its band; a metric without data
// (no deployment, no commit, no incident resolved) has none.
func BandsOf(m Metrics) Bands {
	var b Bands
	days := m.To.Sub(m.From).Hours() / 24
	if days > 0 {
		switch perDay := m.PerDay; {
		case perDay >= 1:
			b.DeploymentFrequency = Elite
		case perDay >= 1.0/7:
			b.DeploymentFrequency = High
		case perDay >= 1.0/30:
			b.DeploymentFrequency = Medium
		default:
			b.DeploymentFrequency = Low
		}
	}
	if m.Commits > 0 {
		b.LeadTime = byDuration(m.LeadTimeMedian, day, week, month)
	}
	if m.Deployments > 0 {
		switch r := m.ChangeFailureRate; {
		case r <= 0.05:
			b.ChangeFailureRate = Elite
		case r <= 0.10:
			b.ChangeFailureRate = High
		case r <= 0.15:
			b.ChangeFailureRate = Medium
		default:
			b.ChangeFailureRate = Low
		}
	}
	if m.Restored > 0 {
		b.TimeToRestore = byDuration(m.TimeToRestoreMedian, time.Hour, day, week)
	}
	return b
}

// byDuration is elite below elite, high below high, medium below medium,
// else low.
func byDuration(d, elite, high, medium time.Duration) Band {
	switch {
	case d < elite:
		return Elite
	case d < high:
		return High
	case d < medium:
		return Medium
	}
	return Low
}
