package main

import (
	"bytes"
	"cmp"
	"context"
	"debug/elf"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// ModuleSize is how many bytes of a binary's symbols a module's packages
// hold.
type ModuleSize struct {
	Module string `json:"module"`
	Bytes  int64  `json:"bytes"`
}

// Breakdown is a function's binary by top module.
type Breakdown struct {
	Function string `json:"function"`
	// Bootstrap is the shipped (stripped) binary's size; Symbols the total
	// size of the symbols of the same build with its symbol table, which
	// Modules divide. Sections are the shipped binary's sections by size:
	// beside the symbols, it holds the runtime's tables (.gopclntab), which
	// grow with the code.
	Bootstrap int64        `json:"bootstrapBytes"`
	Symbols   int64        `json:"symbolBytes"`
	Modules   []ModuleSize `json:"modules"`
	Sections  []ModuleSize `json:"sections"`
	// Variants are builds with something left out, and their sizes.
	Variants []Variant `json:"variants"`
}

// breakdown builds functions/fn as it ships but with its symbol table, under
// dir, and sums its symbols' sizes by module (the standard library as
// "std"); it also measures the floor built without lambda.norpc.
func breakdown(ctx context.Context, root, dir, fn string, bootstrap, floorSize int64) (*Breakdown, error) {
	if err := build(ctx, root, filepath.Join(dir, "symbols"), []string{"KEEP_SYMBOLS=1"}, "functions/"+fn); err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "symbols", fn, "bootstrap")
	version, err := exec.CommandContext(ctx, "go", "version", "-m", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("go version -m: %w", err)
	}
	sizes, total, err := bySymbolModule(bin, modulesOf(version))
	if err != nil {
		return nil, err
	}
	sections, err := sectionSizes(filepath.Join(dir, "shipped", fn, "bootstrap"))
	if err != nil {
		return nil, err
	}
	if err := build(ctx, root, filepath.Join(dir, "rpc"), []string{"TAGS="}, "scripts/hello"); err != nil {
		return nil, err
	}
	rpc, err := fileSize(filepath.Join(dir, "rpc", floor, "bootstrap"))
	if err != nil {
		return nil, err
	}
	return &Breakdown{Function: fn, Bootstrap: bootstrap, Symbols: total, Modules: sizes, Sections: sections,
		Variants: []Variant{{What: "hello without lambda.norpc", Bootstrap: rpc, Shipped: floorSize}}}, nil
}

// modulesOf lists the module paths of go version -m output: the main
// module and every dependency.
func modulesOf(version []byte) []string {
	var mods []string
	for line := range bytes.Lines(version) {
		f := strings.Fields(string(line))
		if len(f) >= 2 && (f[0] == "mod" || f[0] == "dep") {
			mods = append(mods, f[1])
		}
	}
	// Longest first, so a nested module wins over its parent.
	slices.SortFunc(mods, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return mods
}

// bySymbolModule sums the sizes of the symbols of the ELF binary bin that
// take room in the file (not those of .bss) by the module of each symbol's
// package, largest first, and returns the total. Symbols of no package (the
// linker's function metadata, go:func.*, and tables) count as "(runtime
// tables)".
func bySymbolModule(bin string, mods []string) ([]ModuleSize, int64, error) {
	f, err := elf.Open(bin)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", bin, err)
	}
	sums := map[string]int64{}
	var total int64
	for _, sym := range syms {
		if sym.Size == 0 || int(sym.Section) >= len(f.Sections) || f.Sections[sym.Section].Type == elf.SHT_NOBITS {
			continue
		}
		m := "(runtime tables)"
		if pkg := symbolPackage(sym.Name); pkg != "" {
			m = moduleOf(pkg, mods)
		}
		sums[m] += int64(sym.Size)
		total += int64(sym.Size)
	}
	var out []ModuleSize
	for m, n := range sums {
		out = append(out, ModuleSize{Module: m, Bytes: n})
	}
	slices.SortFunc(out, func(a, b ModuleSize) int {
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.Module, b.Module))
	})
	return out, total, nil
}

// symbolPackage is the import path of the package a symbol belongs to, or
// "" for the linker's own (go:buildinfo, runtime.text, ...).
func symbolPackage(sym string) string {
	if strings.HasPrefix(sym, "go:") {
		return "" // function metadata, itabs, build info
	}
	for _, p := range []string{"type:.eq.", "type:.hash.", "type:", "*"} {
		sym = strings.TrimPrefix(sym, p)
	}
	// The package path ends at the first dot after its last slash, before
	// any receiver or type argument.
	end := len(sym)
	if i := strings.IndexAny(sym, "(["); i >= 0 {
		end = i
	}
	head := sym[:end]
	slash := strings.LastIndexByte(head, '/')
	dot := strings.IndexByte(head[slash+1:], '.')
	if dot < 0 {
		return ""
	}
	return head[:slash+1+dot]
}

// moduleOf is the module of package pkg among mods (longest first); "std"
// for the standard library and "" symbols.
func moduleOf(pkg string, mods []string) string {
	for _, m := range mods {
		if pkg == m || strings.HasPrefix(pkg, m+"/") {
			return m
		}
	}
	first, _, _ := strings.Cut(pkg, "/")
	if !strings.Contains(first, ".") || first == "vendor" {
		return "std"
	}
	return pkg // a package of a module the build info does not list
}

// sectionSizes lists the sections of the ELF binary bin that take room in
// the file, largest first.
func sectionSizes(bin string) ([]ModuleSize, error) {
	f, err := elf.Open(bin)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []ModuleSize
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOBITS && s.FileSize > 0 {
			out = append(out, ModuleSize{Module: s.Name, Bytes: int64(s.FileSize)})
		}
	}
	slices.SortFunc(out, func(a, b ModuleSize) int { return cmp.Compare(b.Bytes, a.Bytes) })
	return out, nil
}

// Variant is one build of a main package with something changed, and its
// size.
type Variant struct {
	What      string `json:"what"`
	Bootstrap int64  `json:"bootstrapBytes"`
	// Shipped is the size as it ships, for comparison.
	Shipped int64 `json:"shippedBytes"`
}
