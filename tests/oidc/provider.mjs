// A real OpenID Connect provider on loopback for the single sign-on tests: the certified
// `oidc-provider` package with its development log-in pages, which let anyone log in as any
// account id. An id that is an e-mail address gets that address as a verified e-mail claim
// (one that starts "unverified." gets the rest, said not verified).
//
//   node tests/oidc/provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI POST_LOGOUT_URI
//
// Prints "ready <issuer>" once it listens on 127.0.0.1:PORT.
import Provider from "oidc-provider";

const [port, clientId, clientSecret, redirectUri, postLogoutUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [postLogoutUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        const named = { sub: id, name: `Test ${id.split("@")[0]}` };
        if (!id.includes("@")) return named;
        // "unverified.NAME@DOMAIN": NAME@DOMAIN, said not verified in a string, as some
        // providers send it.
        if (id.startsWith("unverified.")) {
          return { ...named, email: id.slice("unverified.".length), email_verified: "false" };
        }
        return { ...named, email: id, email_verified: true };
      },
    };
  },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: ["samsyn-test-only-cookie-key"] },
});

provider.listen(Number(port), "127.0.0.1", () => {
  console.log(`ready ${issuer}`);
});
