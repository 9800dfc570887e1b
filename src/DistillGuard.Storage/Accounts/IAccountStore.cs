namespace DistillGuard.Storage.Accounts;

/// <summary>Accounts and their API keys. Keys are stored only as hashes.</summary>
public interface IAccountStore : IAsyncDisposable
{
    /// <summary>Creates an account with one API key.</summary>
    /// <exception cref="AccountConflictException">The id or the supplied key already exists.</exception>
    /// <exception cref="ArgumentException">The id or key is malformed.</exception>
    Task<CreatedAccount> CreateAsync(NewAccount account, CancellationToken cancellationToken);

    /// <summary>Finds the account an API key belongs to, or null. Hot path: served from memory.</summary>
    ValueTask<AuthenticatedAccount?> AuthenticateAsync(string apiKey, CancellationToken cancellationToken);

    Task<Account?> GetAsync(string id, CancellationToken cancellationToken);

    Task<IReadOnlyList<Account>> ListAsync(CancellationToken cancellationToken);
}

/// <summary>An account id or API key that already exists.</summary>
public sealed class AccountConflictException(string message) : Exception(message);
