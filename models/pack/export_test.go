package pack

// SignManifest lets the tests sign a manifest they made by hand, as a
// buggy or dishonest signer would.
var SignManifest = (*Signer).sign
