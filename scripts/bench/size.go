package main

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// Size is a bootstrap's size as it ships.
type Size struct {
	Name string
	// Bootstrap is the binary's size; Zipped the size of the deployment
	// package holding it, deflated as the CDK zips an asset.
	Bootstrap, Zipped int64
}

// buildSizes builds the floor and fns for linux/arm64 under dir, as they
// ship, and measures each.
func buildSizes(ctx context.Context, root, dir string, fns []string) ([]Size, error) {
	if err := os.RemoveAll(dir); err != nil { // the tool's own builds, from an earlier run
		return nil, err
	}
	if err := build(ctx, root, filepath.Join(dir, "shipped"), nil, append([]string{"scripts/hello"}, fns...)...); err != nil {
		return nil, err
	}
	var sizes []Size
	for _, name := range append([]string{floor}, fns...) {
		bin := filepath.Join(dir, "shipped", name, "bootstrap")
		st, err := os.Stat(bin)
		if err != nil {
			return nil, err
		}
		zipped, err := zippedSize(bin)
		if err != nil {
			return nil, err
		}
		sizes = append(sizes, Size{Name: name, Bootstrap: st.Size(), Zipped: zipped})
	}
	return sizes, nil
}

// build runs scripts/build.sh for linux/arm64 on srcs into out, with env
// added (TAGS, KEEP_SYMBOLS), so every measured build uses the
// shipping flags but for what env changes.
func build(ctx context.Context, root, out string, env []string, srcs ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "build.sh"), srcs...)
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), "OUT="+out, "GOARCH=arm64"), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %v %v: %w", env, srcs, err)
	}
	return nil
}

// fileSize is the size of file.
func fileSize(file string) (int64, error) {
	st, err := os.Stat(file)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// zippedSize is the size of a zip archive holding file, deflated.
func zippedSize(file string) (int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n counter
	zw := zip.NewWriter(&n)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: filepath.Base(file), Method: zip.Deflate})
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(w, f); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return int64(n), nil
}

// counter counts the bytes written to it.
type counter int64

func (c *counter) Write(p []byte) (int, error) {
	*c += counter(len(p))
	return len(p), nil
}
