// Package pep440 implements Python version identifiers and version
// specifiers as defined by PEP 440 (packaging.python.org "Version specifiers").
//
// Versions parse leniently (case, separators, implicit numbers, a leading
// "v") and print canonically; they order by the PEP's rules, including
// epochs, pre-, post- and development releases and local version labels.
// Specifier sets implement every operator, with the PEP's rules on local
// versions ("==2.4.1" matches "2.4.1+cu121") and pre-releases (excluded unless
// a specifier names one or the caller asks for them).
package pep440
