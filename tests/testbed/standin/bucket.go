package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// ObjectStore talks to the bucket in BUCKET through the host written there - the public S3
// host - so that the URLs it signs are the ones browsers and SDK clients can use.
type ObjectStore struct {
	Bucket  Bucket
	Client  *s3.Client
	Presign *s3.PresignClient
}

// NewObjectStore builds the S3 client: path-style, static credentials, AWS_REGION.
func NewObjectStore(b Bucket, region string, client *http.Client) *ObjectStore {
	c := s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String(b.Endpoint()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(b.AccessKey, b.SecretKey, ""),
		HTTPClient:   client,
		// MinIO and other on-premises stores: checksums only when an operation requires them.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RetryMaxAttempts:           2,
	})
	return &ObjectStore{Bucket: b, Client: c, Presign: s3.NewPresignClient(c)}
}

// Key is where a file's object lives (under BUCKET's prefix, if any).
func (o *ObjectStore) Key(id, name string) string {
	key := "standin/" + id + "/" + name
	if o.Bucket.Prefix != "" {
		key = o.Bucket.Prefix + "/" + key
	}
	return key
}

// Check answers whether the bucket is reachable with these credentials (HeadBucket).
func (o *ObjectStore) Check(ctx context.Context) error {
	_, err := o.Client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(o.Bucket.Name)})
	if err != nil {
		return fmt.Errorf("bucket %q on %s: %s", o.Bucket.Name, o.Bucket.Endpoint(), explainS3(err))
	}
	return nil
}

// PresignPut signs a PUT for key.
func (o *ObjectStore) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	req, err := o.Presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(o.Bucket.Name), Key: aws.String(key)},
		s3.WithPresignExpires(ttl))
	if err != nil {
		return "", err
	}
	return req.URL, nil
}

// PresignGet signs a GET for key.
func (o *ObjectStore) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	req, err := o.Presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.Bucket.Name), Key: aws.String(key)},
		s3.WithPresignExpires(ttl))
	if err != nil {
		return "", err
	}
	return req.URL, nil
}

// Head returns the object's size and ETag (quotes removed).
func (o *ObjectStore) Head(ctx context.Context, key string) (int64, string, error) {
	out, err := o.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(o.Bucket.Name), Key: aws.String(key)})
	if err != nil {
		return 0, "", errors.New(explainS3(err))
	}
	return aws.ToInt64(out.ContentLength), strings.Trim(aws.ToString(out.ETag), `"`), nil
}

// Delete removes the object.
func (o *ObjectStore) Delete(ctx context.Context, key string) error {
	_, err := o.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(o.Bucket.Name), Key: aws.String(key)})
	if err != nil {
		return errors.New(explainS3(err))
	}
	return nil
}

// explainS3 turns SDK errors into a cause and a fix.
func explainS3(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NotFound", "NoSuchBucket":
			return "the bucket does not exist (HTTP 404): create it (the minio role does) or correct wandb_bucket"
		case "Forbidden", "AccessDenied":
			return "access denied (HTTP 403): the access key in BUCKET lacks rights on the bucket, or the secret is wrong"
		case "SignatureDoesNotMatch":
			return "SignatureDoesNotMatch: the secret key in BUCKET is wrong (percent-encoded?) or a proxy rewrites the Host header"
		case "InvalidAccessKeyId":
			return "the access key in BUCKET is unknown to the store"
		case "AuthorizationHeaderMalformed", "InvalidRegion":
			return "the store's region differs from AWS_REGION: " + api.ErrorMessage()
		}
		return api.ErrorCode() + ": " + api.ErrorMessage()
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "x509:") || strings.Contains(msg, "tls:"):
		return "TLS to the store failed (" + lastPart(msg) + "): mount the site CA (kubernetes_ca_certs)"
	case strings.Contains(msg, "no such host"):
		return "the store's host does not resolve from the pod (" + lastPart(msg) + ")"
	case strings.Contains(msg, "connection refused"):
		return "connection refused (" + lastPart(msg) + ")"
	}
	return lastPart(msg)
}

func lastPart(msg string) string {
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		tail := msg[i+2:]
		if j := strings.LastIndex(msg[:i], ": "); j >= 0 {
			return msg[j+2:]
		}
		return tail
	}
	return msg
}
