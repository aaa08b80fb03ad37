package wheelinstall

import "io/fs"

// Result describes one installed distribution.
type Result struct {
	// Name and Version are the project's, from its METADATA.
	Name, Version string
	// DistInfo is the layer path of the installed .dist-info directory.
	DistInfo string
	// Files lists every installed file, RECORD and INSTALLER included,
	// sorted by Path.
	Files []File
	// Scripts lists the generated entry-point wrappers, sorted by Name.
	Scripts []Script
	// Unrecorded lists the wheel's members its RECORD does not list, in
	// archive order: installed (as pip does), but worth a warning, since
	// their contents were not vouched for by the wheel.
	Unrecorded []string
}

// File is one installed file.
type File struct {
	// Path is layer-relative: "usr/local/lib/python3.11/site-packages/six.py".
	Path string
	Mode fs.FileMode
	Size int64
	// SHA256 is the hex digest of the installed contents as the installed
	// RECORD lists it: the wheel's RECORD row when it has one (taken, not
	// checked, as pip takes it), else computed from the bytes installed.
	SHA256 string
}

// Script is a console_scripts or gui_scripts wrapper.
type Script struct {
	// Name is the command name, Path its layer path ("usr/local/bin/NAME").
	Name, Path string
	// Module and Attr are the entry point's object reference (module:attr).
	Module, Attr string
	GUI          bool
}
