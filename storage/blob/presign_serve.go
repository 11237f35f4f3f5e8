package blob

import (
	"context"
	"io"
	"net/http"

	"github.com/fieldsync/fieldsync/models"
)

// ServePut is the API's handler body for a signed local upload URL: it
// checks the token against the request and stores the body as the whole
// object or as one part, returning the part's ETag ("" for an object).
func (p *LocalPresigner) ServePut(ctx context.Context, token, contentType string, size int64, r io.Reader) (string, error) {
	g, err := p.Verify(token, http.MethodPut)
	if err != nil {
		return "", urlError(err)
	}
	if err := g.CheckRequest(contentType, size); err != nil {
		return "", err
	}
	if g.IsPart() {
		part, err := p.PutPart(ctx, g, r, size)
		return part.ETag, err
	}
	return "", p.PutObject(ctx, g, r, size)
}

// SignedKey verifies a signed URL's token for method and returns the
// object key it names, so that the API can check the key's owner (the
// evidence must still be pending) before ServePut reads the body.
func (p *LocalPresigner) SignedKey(token, method string) (string, error) {
	g, err := p.Verify(token, method)
	if err != nil {
		return "", urlError(err)
	}
	return g.Key, nil
}

// ServeGet opens the object a signed local download URL names.
func (p *LocalPresigner) ServeGet(ctx context.Context, token string) (io.ReadCloser, models.BlobInfo, error) {
	g, err := p.Verify(token, http.MethodGet)
	if err != nil {
		return nil, models.BlobInfo{}, urlError(err)
	}
	return p.Store.Get(ctx, g.Key)
}

// urlError reports a bad or expired signed URL with the codes the API
// answers 403 for, as S3 does.
func urlError(err error) error {
	switch models.ErrorCode(err) {
	case models.CodeTokenExpired:
		return &models.Error{Code: models.CodeUploadURLExpired, Message: "the signed URL has expired; ask for a new one", Err: err}
	case models.CodeTokenInvalid:
		return &models.Error{Code: models.CodeUploadURLInvalid, Message: "the signed URL is not valid", Err: err}
	}
	return err
}
