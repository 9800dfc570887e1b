using System.CommandLine;
using DistillGuard.Gateway.Hosting;

namespace DistillGuard.Cli.Commands;

/// <summary><c>distillguard serve</c>: runs the gateway until Ctrl+C or SIGTERM.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var port = new Option<int?>("--port") { Description = "TCP port to listen on (default 8080; 0 picks a free port)." };
        var host = new Option<string?>("--host") { Description = "Interface to bind: localhost (default), an IP address, or * for all." };
        var data = new Option<string?>("--data") { Description = "Data directory for the usage log, accounts, secrets and model files (default ./data)." };
        var config = new Option<FileInfo?>("--config") { Description = "JSON config file; validated at start-up (see docs/configuration.md)." };
        var model = new Option<FileInfo?>("--model") { Description = "Serve this saved model file as the built-in model instead of dg-teacher." };
        var modelId = new Option<string?>("--model-id") { Description = "Model id to serve the built-in model under (default dg-teacher)." };
        var policy = new Option<FileInfo?>("--policy") { Description = "Response-policy file (JSON; reloaded on change); the shipped default policy when left out." };
        var selfRegister = new Option<bool>("--self-register") { Description = "Let unknown API keys register themselves (demos and simulation only)." };

        var command = new Command("serve", "Run the gateway in front of the built-in model and any configured upstreams.")
        {
            port, host, data, config, model, modelId, policy, selfRegister,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            GatewayOptions options;
            try
            {
                options = parse.GetValue(config) is { } file ? GatewayConfigFile.Load(file.FullName) : new GatewayOptions();
            }
            catch (GatewayConfigException e)
            {
                await Console.Error.WriteLineAsync($"distillguard: config error: {e.Message}");
                return 2;
            }

            if (parse.GetValue(port) is { } p)
            {
                options.Port = p;
            }

            if (parse.GetValue(host) is { } h)
            {
                options.Host = h;
            }

            if (parse.GetValue(data) is { } d)
            {
                options.DataDirectory = d;
            }

            if (parse.GetValue(model) is { } m)
            {
                options.BuiltInModel.Path = m.FullName;
            }

            if (parse.GetValue(modelId) is { } id)
            {
                options.BuiltInModel.Id = id;
            }

            if (parse.GetValue(policy) is { } policyFile)
            {
                options.PolicyFile = policyFile.FullName;
            }

            if (parse.GetValue(selfRegister))
            {
                options.Accounts.SelfRegister = true;
            }

            // Before the first socket: the runtime reads the switch once per process.
            SocketCompletions.Apply(options.InlineSocketCompletions);
            GatewayApp app;
            try
            {
                app = GatewayApp.Create(options, new GatewayHostOptions { Progress = line => Console.Error.WriteLine($"distillguard: {line}") });
            }
            catch (GatewayConfigException e)
            {
                await Console.Error.WriteLineAsync($"distillguard: config error: {e.Message}");
                return 2;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or InvalidDataException)
            {
                await Console.Error.WriteLineAsync($"distillguard: cannot start: {e.Message}");
                return 1;
            }

            await using (app)
            {
                await app.StartAsync(cancellationToken);
                Console.Error.WriteLine($"distillguard: serving {app.BaseAddress}v1 (models: {options.BuiltInModel.Id}{string.Concat(options.Upstreams.SelectMany(u => u.Models).Select(x => ", " + x))})");
                Console.Error.WriteLine($"distillguard: admin token from {app.AdminToken.Source}; data in {Path.GetFullPath(options.DataDirectory)}");
                await app.WaitForShutdownAsync(cancellationToken);
            }

            return 0;
        });
        return command;
    }
}
