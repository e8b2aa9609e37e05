package deploy_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/highwayhq/highway/shared/deploy"
	"github.com/highwayhq/highway/shared/gitops/gitopsfake"
	"github.com/highwayhq/highway/shared/kube/kubefake"
	"github.com/highwayhq/highway/shared/policy"
	corev1 "k8s.io/api/core/v1"
)

const kustomization = "overlays/prod/kustomization.yaml"

// gitOpsDeployer commits to a fake CodeCommit branch holding kustomize's own
// example kustomization (shared/gitops/testdata), with its image renamed to
// the artifact's, and watches a fake cluster.
func gitOpsDeployer(t *testing.T) (*gitopsfake.Repo, *kubefake.Server, deploy.Follower) {
	t.Helper()
	file := strings.ReplaceAll(testdata(t, filepath.Join("..", "..", "gitops", "testdata", "kustomize", "image", "kustomization.yaml")), "busybox", "checkout")
	repo, cc := gitopsfake.New(t, kustomization, []byte(file))
	fake := kubefake.New(t)
	fake.Put(web())
	spec := &policy.GitOpsDeploy{Repository: "platform-config", Branch: "main", File: kustomization, Key: "checkout", Watch: eksSpec}
	d, err := deploy.For(&policy.Deploy{GitOps: spec}, deploy.Clients{CodeCommit: cc, Kube: connector(t, fake)})
	if err != nil {
		t.Fatal(err)
	}
	return repo, fake, d.(deploy.Follower)
}

// The digest is committed on the branch's head; the deployment finishes
// when the controller rolled the watched Deployment out to it.
func TestGitOpsCommitsTheDigestAndWaitsForTheCluster(t *testing.T) {
	repo, fake, d := gitOpsDeployer(t)
	tg := target(imageArtifact())
	res, err := d.Deploy(t.Context(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Done || res.Handle != repo.Head || len(repo.Commits) != 1 {
		t.Fatalf("result %+v, head %s, %d commits", res, repo.Head, len(repo.Commits))
	}
	got := string(repo.File(kustomization))
	if !strings.Contains(got, "digest: "+imageDigest) || !strings.Contains(got, "newName: "+repository) || strings.Contains(got, "newTag") {
		t.Errorf("committed kustomization:\n%s", got)
	}
	if c := repo.Commits[0]; c["authorName"] != deploy.CommitAuthor || !strings.Contains(c["commitMessage"].(string), "checkout/prod runs "+imageDigest) {
		t.Errorf("commit %v", c)
	}
	if p, err := d.Follow(t.Context(), tg, res.Handle); err != nil || p.Done {
		t.Errorf("cluster not synced: %+v, %v; want running", p, err)
	}
	// The controller syncs: the Deployment runs the digest, rolled out.
	w := fake.Get("checkout", "web")
	w.Spec.Template.Spec.Containers[0].Image = repository + "@" + imageDigest
	w.Generation++
	progress(w, 3, "NewReplicaSetAvailable")
	fake.Put(w)
	if p, err := d.Follow(t.Context(), tg, res.Handle); err != nil || !p.Done || !p.Success {
		t.Errorf("synced: %+v, %v; want done and succeeded", p, err)
	}
	if d.Timeout() != policy.DefaultGitOpsTimeout {
		t.Errorf("timeout %s, want the default %s", d.Timeout(), policy.DefaultGitOpsTimeout)
	}
}

// Someone commits to the branch while Highway commits: Highway's commit is
// made again on the new head, and theirs stays.
func TestGitOpsHeadMovedDuringTheCommit(t *testing.T) {
	repo, _, d := gitOpsDeployer(t)
	repo.Before = func(r *gitopsfake.Repo) {
		r.Before = nil
		other := "0ther00000000000000000000000000000000001"
		r.Files[other] = map[string][]byte{kustomization: r.Files[r.Head][kustomization], "README.md": []byte("theirs")}
		r.Head = other
	}
	res, err := d.Deploy(t.Context(), target(imageArtifact()))
	if err != nil {
		t.Fatal(err)
	}
	if len(repo.Commits) != 1 || repo.Commits[0]["parentCommitId"] != "0ther00000000000000000000000000000000001" || res.Handle != repo.Head {
		t.Errorf("commits %v, handle %s; want one commit on their head", repo.Commits, res.Handle)
	}
	if string(repo.File("README.md")) != "theirs" {
		t.Error("their commit was lost")
	}
}

// Someone changing the same image while Highway commits is not written over:
// the deployment is refused and says so.
func TestGitOpsConcurrentChangeToTheImageIsRefused(t *testing.T) {
	repo, _, d := gitOpsDeployer(t)
	repo.Before = func(r *gitopsfake.Repo) {
		r.Before = nil
		other := "0ther00000000000000000000000000000000002"
		r.Files[other] = map[string][]byte{kustomization: []byte(strings.Replace(string(r.Files[r.Head][kustomization]), "newTag: 3.6", "newTag: 3.7", 1))}
		r.Head = other
	}
	_, err := d.Deploy(t.Context(), target(imageArtifact()))
	if !errors.Is(err, deploy.ErrRefused) || len(repo.Commits) != 0 {
		t.Errorf("err %v, %d commits; want ErrRefused and none", err, len(repo.Commits))
	}
}

// The watched Deployment runs the artifact only when every container of its
// repository does: an init container still on the old image (a migration
// step the controller has not rolled yet) keeps the deployment waiting.
func TestGitOpsWaitsForEveryContainerOfTheRepository(t *testing.T) {
	_, fake, d := gitOpsDeployer(t)
	tg := target(imageArtifact())
	res, err := d.Deploy(t.Context(), tg)
	if err != nil {
		t.Fatal(err)
	}
	w := fake.Get("checkout", "web")
	w.Spec.Template.Spec.Containers[0].Image = repository + "@" + imageDigest
	w.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "migrate", Image: repository + ":1.4.1"}}
	w.Generation++
	progress(w, 3, "NewReplicaSetAvailable")
	fake.Put(w)
	if p, err := d.Follow(t.Context(), tg, res.Handle); err != nil || p.Done || !strings.Contains(p.Detail, "container migrate runs "+repository+":1.4.1") {
		t.Errorf("migrate not synced: %+v, %v; want running, naming it", p, err)
	}
}
