// Package metadata parses Python core metadata (the METADATA file of a wheel
// and PEP 658 .metadata files), Metadata-Version 1.0 to 2.4.
//
// Values are kept as strings: versions, specifiers and markers are for the
// PEP 440 and PEP 508 packages to interpret.
package metadata
